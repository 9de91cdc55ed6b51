// Package nsx talks to an NSX-v Manager's REST API (XML over HTTPS, basic auth) and holds the
// XML documents of the endpoints the IPsec procedure reads. The lab's simulated Manager encodes
// with these same types, so the wire format lives in one place.
package nsx

import (
	"encoding/xml"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Counter is a numeric field of a statistics document. It decodes leniently: surrounding
// space is ignored and a value that is not a number reads as 0, so one odd counter never
// costs the failure messages of the same document.
type Counter uint64

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *Counter) UnmarshalText(b []byte) error {
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		n = 0
	}
	*c = Counter(n)
	return nil
}

// Statistics is GET /api/4.0/edges/{edgeId}/ipsec/statistics: the <ipsecStatusAndStats> document.
// Failure and informational messages are accepted wherever they appear under a site (the site
// itself, its ikeStatus, its tunnelStats): where NSX puts failureMessage is not documented.
type Statistics struct {
	XMLName      xml.Name         `xml:"ipsecStatusAndStats"`
	ServerStatus string           `xml:"serverStatus,omitempty"`
	Sites        []SiteStatistics `xml:"siteStatistics"`
	// TimeStamp is in epoch seconds.
	TimeStamp   Counter               `xml:"timeStamp,omitempty"`
	GlobalDrops *PacketDropStatistics `xml:"globalPacketDropStatistics,omitempty"`
	// IKEStatistics is doubly nested in the document: <ikeStatistics><ikeStatistics>.
	IKEStatistics []IKECounters `xml:"ikeStatistics>ikeStatistics,omitempty"`
	// Nested holds messages outside the elements above (it is not encoded: a document made
	// from these types has none). A parsed document finds its own on first use: see
	// NestedMessages.
	Nested []Message `xml:"-"`
	nested *lazyNested
}

// lazyNested finds a parsed document's nested messages on first use: the search is a second
// pass over the document, which a sweep of many edges, reading only the typed fields, never
// needs. Copies of the Statistics share it.
type lazyNested struct {
	once sync.Once
	doc  []byte
	msgs []Message
}

// NestedMessages returns Nested, or for a parsed document the messages ParseStatistics found
// in places the types do not name.
func (s *Statistics) NestedMessages() []Message {
	l := s.nested
	if l == nil {
		return s.Nested
	}
	l.once.Do(func() {
		l.msgs = nestedMessages(l.doc, s)
		l.doc = nil
	})
	return l.msgs
}

// Time returns TimeStamp as a time (zero when absent).
func (s *Statistics) Time() time.Time {
	if s.TimeStamp == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s.TimeStamp), 0).UTC()
}

// Site returns the statistics of the site with the given siteId, or nil.
func (s *Statistics) Site(siteID string) *SiteStatistics {
	for i := range s.Sites {
		if s.Sites[i].SiteID == siteID {
			return &s.Sites[i]
		}
	}
	return nil
}

// SiteStatistics is one <siteStatistics>: the IKE channel and the tunnels of one IPsec site.
type SiteStatistics struct {
	SiteID                   string        `xml:"siteId,omitempty"`
	SiteStatus               string        `xml:"siteStatus,omitempty"`
	FailureMessage           string        `xml:"failureMessage,omitempty"`
	LastInformationalMessage string        `xml:"lastInformationalMessage,omitempty"`
	RxBytesOnSite            Counter       `xml:"rxBytesOnSite,omitempty"`
	TxBytesFromSite          Counter       `xml:"txBytesFromSite,omitempty"`
	IKEStatus                *IKEStatus    `xml:"ikeStatus,omitempty"`
	Tunnels                  []TunnelStats `xml:"tunnelStats"`
	VTIs                     []VTIStats    `xml:"virtualTunnelInterfaceStats,omitempty"`
}

// Up reports whether the site's IKE channel and every tunnel are up.
func (s *SiteStatistics) Up() bool {
	if s.IKEStatus == nil || !isUp(s.IKEStatus.ChannelStatus) {
		return false
	}
	for _, t := range s.Tunnels {
		if !isUp(t.TunnelStatus) {
			return false
		}
	}
	return true
}

// Failure is the failure message that applies to t, a tunnel of the site (nil: the site as a
// whole): the tunnel's own, else the IKE channel's, else the site's. Documents put it at any
// of the three levels.
func (s *SiteStatistics) Failure(t *TunnelStats) string {
	var tunnel, ike string
	if t != nil {
		tunnel = t.FailureMessage
	}
	if s.IKEStatus != nil {
		ike = s.IKEStatus.FailureMessage
	}
	return firstText(tunnel, ike, s.FailureMessage)
}

// Info is the last informational message that applies to t, in the same order as Failure.
func (s *SiteStatistics) Info(t *TunnelStats) string {
	var tunnel, ike string
	if t != nil {
		tunnel = t.LastInformationalMessage
	}
	if s.IKEStatus != nil {
		ike = s.IKEStatus.LastInformationalMessage
	}
	return firstText(tunnel, ike, s.LastInformationalMessage)
}

// firstText is the first of s that is not blank, trimmed.
func firstText(s ...string) string {
	for _, v := range s {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

func isUp(status string) bool { return strings.EqualFold(strings.TrimSpace(status), "up") }

// IKEStatus is the site's IKE SA (the "channel").
type IKEStatus struct {
	ChannelStatus            string   `xml:"channelStatus"`
	ChannelState             string   `xml:"channelState"`
	FailureMessage           string   `xml:"failureMessage,omitempty"`
	LastInformationalMessage string   `xml:"lastInformationalMessage"`
	LocalIPAddress           string   `xml:"localIpAddress"`
	PeerID                   string   `xml:"peerId"`
	PeerIPAddress            string   `xml:"peerIpAddress"`
	LocalSubnets             []string `xml:"localSubnets>string,omitempty"`
	PeerSubnets              []string `xml:"peerSubnets>string,omitempty"`
	ChannelIKEVersion        string   `xml:"channelIkeVersion,omitempty"`
}

// TunnelStats is one IPsec SA pair (one local subnet x peer subnet).
type TunnelStats struct {
	TunnelStatus                 string  `xml:"tunnelStatus"`
	TunnelState                  string  `xml:"tunnelState"`
	FailureMessage               string  `xml:"failureMessage,omitempty"`
	LastInformationalMessage     string  `xml:"lastInformationalMessage"`
	LocalSubnet                  string  `xml:"localSubnet"`
	PeerSubnet                   string  `xml:"peerSubnet"`
	EncryptionAlgorithm          string  `xml:"encryptionAlgorithm,omitempty"`
	AuthenticationAlgorithm      string  `xml:"authenticationAlgorithm,omitempty"`
	LocalSPI                     string  `xml:"localSPI,omitempty"` // bare hex, no 0x
	PeerSPI                      string  `xml:"peerSPI,omitempty"`
	EstablishedDate              string  `xml:"establishedDate,omitempty"` // "Jul 31 14:56:22 2017"
	TxBytesFromLocalSubnet       Counter `xml:"txBytesFromLocalSubnet"`
	RxBytesOnLocalSubnet         Counter `xml:"rxBytesOnLocalSubnet"`
	PacketsOut                   Counter `xml:"packetsOut"`
	PacketSentErrors             Counter `xml:"packetSentErrors"`
	EncryptionFailures           Counter `xml:"encryptionFailures"`
	SequenceNumberOverFlowErrors Counter `xml:"sequenceNumberOverFlowErrors"`
	PacketsIn                    Counter `xml:"packetsIn"`
	PacketReceivedErrors         Counter `xml:"packetReceivedErrors"`
	DecryptionFailures           Counter `xml:"decryptionFailures"`
	ReplayErrors                 Counter `xml:"replayErrors"`
	IntegrityErrors              Counter `xml:"integrityErrors"`
	LastUpdatedTime              string  `xml:"lastUpdatedTime,omitempty"`
}

// VTIStats is a route-based site's virtual tunnel interface (ip -s tunnel style counters).
type VTIStats struct {
	Label              string  `xml:"label"`
	DestinationAddress string  `xml:"destinationAddress"`
	SourceAddress      string  `xml:"sourceAddress"`
	RxPackets          Counter `xml:"rxPackets"`
	RxBytes            Counter `xml:"rxBytes"`
	RxErrors           Counter `xml:"rxErrors"`
	RxChecksumErrors   Counter `xml:"rxChecksumErrors"`
	RxOutOfSequence    Counter `xml:"rxOutOfSequence"`
	RxMulticastPackets Counter `xml:"rxMulticastPackets"`
	TxPackets          Counter `xml:"txPackets"`
	TxBytes            Counter `xml:"txBytes"`
	TxErrors           Counter `xml:"txErrors"`
	TxDeadLoopErrors   Counter `xml:"txDeadLoopErrors"`
	TxNoRouteErrors    Counter `xml:"txNoRouteErrors"`
	TxNoBufferErrors   Counter `xml:"txNoBufferErrors"`
}

// PacketDropStatistics are the Linux XFRM drop counters (/proc/net/xfrm_stat without "Xfrm").
type PacketDropStatistics struct {
	InBufferError       Counter `xml:"inBufferError"`
	InHdrError          Counter `xml:"inHdrError"`
	InNoStates          Counter `xml:"inNoStates"`
	InStateProtoError   Counter `xml:"inStateProtoError"`
	InStateModeError    Counter `xml:"inStateModeError"`
	InStateSeqError     Counter `xml:"inStateSeqError"`
	InStateExpired      Counter `xml:"inStateExpired"`
	InStateMismatch     Counter `xml:"inStateMismatch"`
	InStateInvalid      Counter `xml:"inStateInvalid"`
	InTmplMismatch      Counter `xml:"inTmplMismatch"`
	InNoPols            Counter `xml:"inNoPols"`
	InPolBlock          Counter `xml:"inPolBlock"`
	InPolError          Counter `xml:"inPolError"`
	InError             Counter `xml:"inError"`
	OutStateInvalid     Counter `xml:"outStateInvalid"`
	OutBundleGenError   Counter `xml:"outBundleGenError"`
	OutBundleCheckError Counter `xml:"outBundleCheckError"`
	OutNoStates         Counter `xml:"outNoStates"`
	OutStateProtoError  Counter `xml:"outStateProtoError"`
	OutStateModeError   Counter `xml:"outStateModeError"`
	OutStateSeqError    Counter `xml:"outStateSeqError"`
	OutStateExpired     Counter `xml:"outStateExpired"`
	OutPolBlock         Counter `xml:"outPolBlock"`
	OutPolDead          Counter `xml:"outPolDead"`
	OutPolError         Counter `xml:"outPolError"`
	FwdHdrError         Counter `xml:"fwdHdrError"`
	OutError            Counter `xml:"outError"`
	AcquireError        Counter `xml:"acquireError"`
}

// IKECounters are the daemon's IKE message counters for one IKE version (strongSwan's names).
type IKECounters struct {
	IKEVersion       string  `xml:"ikeVersion"`
	IKEInitRekey     Counter `xml:"ikeInitRekey"`
	IKERspRekey      Counter `xml:"ikeRspRekey"`
	IKEChildSaRekey  Counter `xml:"ikeChildSaRekey"`
	IKEInInvalid     Counter `xml:"ikeInInvalid"`
	IKEInInvalidSpi  Counter `xml:"ikeInInvalidSpi"`
	IKEOutInitReq    Counter `xml:"ikeOutInitReq"`
	IKEInInitRsp     Counter `xml:"ikeInInitRsp"`
	IKEInInitReq     Counter `xml:"ikeInInitReq"`
	IKEOutAuthReq    Counter `xml:"ikeOutAuthReq"`
	IKEInAuthRsp     Counter `xml:"ikeInAuthRsp"`
	IKEInAuthReq     Counter `xml:"ikeInAuthReq"`
	IKEOutAuthRsp    Counter `xml:"ikeOutAuthRsp"`
	IKEOutCrChildReq Counter `xml:"ikeOutCrChildReq"`
	IKEInCrChildRsp  Counter `xml:"ikeInCrChildRsp"`
	IKEInCrChildReq  Counter `xml:"ikeInCrChildReq"`
	IKEOutCrChildRsp Counter `xml:"ikeOutCrChildRsp"`
	IKEOutInfoReq    Counter `xml:"ikeOutInfoReq"`
	IKEInInfoRsp     Counter `xml:"ikeInInfoRsp"`
	IKEInInfoReq     Counter `xml:"ikeInInfoReq"`
	IKEOutInfoRsp    Counter `xml:"ikeOutInfoRsp"`
	IKEOutInitRsp    Counter `xml:"ikeOutInitRsp"`
}

// IPsecConfig is GET /api/4.0/edges/{edgeId}/ipsec/config: the <ipsec> document. The client
// never asks for showSensitiveData, and PSK fields are Secrets whatever they hold.
type IPsecConfig struct {
	XMLName      xml.Name      `xml:"ipsec"`
	Version      string        `xml:"version,omitempty"`
	Enabled      bool          `xml:"enabled"`
	DisableEvent bool          `xml:"disableEvent,omitempty"`
	Logging      *IPsecLogging `xml:"logging,omitempty"`
	Sites        []IPsecSite   `xml:"sites>site"`
	Global       IPsecGlobal   `xml:"global"`
}

// Site returns the site with the given siteId, or nil.
func (c *IPsecConfig) Site(siteID string) *IPsecSite {
	for i := range c.Sites {
		if c.Sites[i].SiteID == siteID {
			return &c.Sites[i]
		}
	}
	return nil
}

// IPsecLogging is the IPsec service's log settings.
type IPsecLogging struct {
	Enable   bool   `xml:"enable"`
	LogLevel string `xml:"logLevel"`
}

// IPsecSite is one <site>: one peer gateway and its proposals.
type IPsecSite struct {
	Enabled             bool   `xml:"enabled"`
	Name                string `xml:"name"`
	Description         string `xml:"description,omitempty"`
	LocalID             string `xml:"localId"`
	LocalIP             string `xml:"localIp"`
	PeerID              string `xml:"peerId"`
	PeerIP              string `xml:"peerIp"` // an address or "any"
	IPsecSessionType    string `xml:"ipsecSessionType,omitempty"`
	ComplianceSuite     string `xml:"complianceSuite,omitempty"`
	EncryptionAlgorithm string `xml:"encryptionAlgorithm"` // aes, aes256, 3des, aes-gcm
	AuthenticationMode  string `xml:"authenticationMode"`  // psk or x.509
	PSK                 Secret `xml:"psk,omitempty"`
	Certificate         string `xml:"certificate,omitempty"`
	EnablePFS           bool   `xml:"enablePfs"`
	DHGroup             string `xml:"dhGroup"` // dh2, dh5, dh14, dh15, dh16
	MTU                 int    `xml:"mtu,omitempty"`
	// LocalSubnets and PeerSubnets are CIDRs.
	LocalSubnets    []string         `xml:"localSubnets>subnet"`
	PeerSubnets     []string         `xml:"peerSubnets>subnet"`
	TunnelInterface *TunnelInterface `xml:"tunnelInterface,omitempty"`
	SiteID          string           `xml:"siteId,omitempty"`
	IKEOption       string           `xml:"ikeOption,omitempty"`       // ikev1 (default), ikev2, ikeflex
	DigestAlgorithm string           `xml:"digestAlgorithm,omitempty"` // sha1 (default), sha-256
	ResponderOnly   bool             `xml:"responderOnly,omitempty"`
	Extension       string           `xml:"extension,omitempty"`
}

// TunnelInterface is a route-based site's VTI.
type TunnelInterface struct {
	Label     string `xml:"label,omitempty"`
	IPAddress string `xml:"ipAddress"`
	MTU       int    `xml:"mtu,omitempty"`
}

// IPsecGlobal holds the settings shared by all sites.
type IPsecGlobal struct {
	PSK                Secret   `xml:"psk,omitempty"`
	ServiceCertificate string   `xml:"serviceCertificate,omitempty"`
	CACertificates     []string `xml:"caCertificates>caCertificate,omitempty"`
	CRLCertificates    []string `xml:"crlCertificates>crlCertificate,omitempty"`
	Extension          string   `xml:"extension,omitempty"`
}

// FirewallConfig is GET /api/4.0/edges/{edgeId}/firewall/config: the <firewall> document.
type FirewallConfig struct {
	XMLName       xml.Name        `xml:"firewall"`
	Version       string          `xml:"version,omitempty"`
	Enabled       *bool           `xml:"enabled,omitempty"` // absent: enabled
	DefaultPolicy *FirewallPolicy `xml:"defaultPolicy,omitempty"`
	Rules         []FirewallRule  `xml:"firewallRules>firewallRule"`
}

// FirewallPolicy is the action for traffic no rule matches (default deny).
type FirewallPolicy struct {
	Action         string `xml:"action"`
	LoggingEnabled bool   `xml:"loggingEnabled"`
}

// FirewallRule is one <firewallRule>. Absent source, destination or application mean "any".
type FirewallRule struct {
	ID              string               `xml:"id,omitempty"`
	RuleTag         string               `xml:"ruleTag,omitempty"`
	Name            string               `xml:"name,omitempty"`
	RuleType        string               `xml:"ruleType,omitempty"` // user, internal_high, default_policy...
	Source          *FirewallEndpoint    `xml:"source,omitempty"`
	Destination     *FirewallEndpoint    `xml:"destination,omitempty"`
	Application     *FirewallApplication `xml:"application,omitempty"`
	MatchTranslated bool                 `xml:"matchTranslated,omitempty"`
	Direction       string               `xml:"direction,omitempty"` // in, out; absent: any
	Action          string               `xml:"action"`              // accept, deny (or reject)
	Enabled         *bool                `xml:"enabled,omitempty"`   // absent: enabled
	LoggingEnabled  bool                 `xml:"loggingEnabled,omitempty"`
	Description     string               `xml:"description,omitempty"`
}

// FirewallEndpoint is a rule's source or destination.
type FirewallEndpoint struct {
	Exclude           bool     `xml:"exclude,omitempty"`
	IPAddresses       []string `xml:"ipAddress,omitempty"` // address, a-b range or CIDR
	GroupingObjectIDs []string `xml:"groupingObjectId,omitempty"`
	VnicGroupIDs      []string `xml:"vnicGroupId,omitempty"`
}

// FirewallApplication is a rule's services.
type FirewallApplication struct {
	ApplicationIDs []string          `xml:"applicationId,omitempty"`
	Services       []FirewallService `xml:"service,omitempty"`
}

// FirewallService is one protocol and its ports.
type FirewallService struct {
	Protocol    string   `xml:"protocol"`
	Ports       []string `xml:"port,omitempty"` // "500", "500-4500", "any"
	SourcePorts []string `xml:"sourcePort,omitempty"`
	ICMPType    string   `xml:"icmpType,omitempty"`
}

// SyslogConfig is GET /api/4.0/edges/{edgeId}/syslog/config: the <syslog> document.
type SyslogConfig struct {
	XMLName         xml.Name `xml:"syslog"`
	Version         string   `xml:"version,omitempty"`
	Enabled         *bool    `xml:"enabled,omitempty"`
	Protocol        string   `xml:"protocol,omitempty"`                  // udp, tcp
	ServerAddresses []string `xml:"serverAddresses>ipAddress,omitempty"` // one or two
}

// Configured reports whether the Edge sends its logs to at least one remote syslog server
// (step 1 of the procedure asks for it, since the Edge has little disk).
func (s *SyslogConfig) Configured() bool {
	if s.Enabled != nil && !*s.Enabled {
		return false
	}
	for _, a := range s.ServerAddresses {
		if strings.TrimSpace(a) != "" {
			return true
		}
	}
	return false
}

// PagedEdgeList is GET /api/4.0/edges: one page of edges.
type PagedEdgeList struct {
	XMLName xml.Name `xml:"pagedEdgeList"`
	Page    EdgePage `xml:"edgePage"`
}

// EdgePage is the page itself.
type EdgePage struct {
	PagingInfo PagingInfo    `xml:"pagingInfo"`
	Edges      []EdgeSummary `xml:"edgeSummary"`
}

// PagingInfo says where a page sits in the whole list.
type PagingInfo struct {
	PageSize           int    `xml:"pageSize"`
	StartIndex         int    `xml:"startIndex"`
	TotalCount         int    `xml:"totalCount"`
	SortOrderAscending bool   `xml:"sortOrderAscending"`
	SortBy             string `xml:"sortBy"`
}

// EdgeSummary is one edge of the list.
type EdgeSummary struct {
	ObjectID          string             `xml:"objectId"`
	ID                string             `xml:"id,omitempty"`
	Name              string             `xml:"name"`
	Description       string             `xml:"description,omitempty"`
	EdgeType          string             `xml:"edgeType,omitempty"`   // gatewayServices, distributedRouter
	EdgeStatus        string             `xml:"edgeStatus,omitempty"` // GREEN, YELLOW, GREY, RED
	State             string             `xml:"state,omitempty"`      // deployed...
	DatacenterMoid    string             `xml:"datacenterMoid,omitempty"`
	DatacenterName    string             `xml:"datacenterName,omitempty"`
	TenantID          string             `xml:"tenantId,omitempty"`
	APIVersion        string             `xml:"apiVersion,omitempty"`
	AppliancesSummary *AppliancesSummary `xml:"appliancesSummary,omitempty"`
}

// AppliancesSummary describes the edge's appliances, the active one in particular.
type AppliancesSummary struct {
	ApplianceSize       string `xml:"applianceSize,omitempty"`
	FQDN                string `xml:"fqdn,omitempty"`
	VMVersion           string `xml:"vmVersion,omitempty"`
	VMBuildInfo         string `xml:"vmBuildInfo,omitempty"`
	ActiveVseHaIndex    *int   `xml:"activeVseHaIndex,omitempty"`
	NumberOfDeployedVms int    `xml:"numberOfDeployedVms,omitempty"`
	VMMoidOfActiveVse   string `xml:"vmMoidOfActiveVse,omitempty"`
	VMNameOfActiveVse   string `xml:"vmNameOfActiveVse,omitempty"`
	HostNameOfActiveVse string `xml:"hostNameOfActiveVse,omitempty"`
}

// EdgeHealthSummary is GET /api/4.0/edges/{edgeId}/healthsummary (6.4.0+).
type EdgeHealthSummary struct {
	XMLName         xml.Name          `xml:"edgeHealthSummary"`
	ID              string            `xml:"id"`
	Name            string            `xml:"name"`
	EdgeType        string            `xml:"edgeType,omitempty"`
	BuildNumber     string            `xml:"buildNumber,omitempty"` // 6.4.0-7056811
	ConfigVersion   string            `xml:"configVersion,omitempty"`
	PublishStatus   string            `xml:"publishStatus,omitempty"`
	HaVnicInUse     string            `xml:"haVnicInUse,omitempty"`
	EnabledFeatures []FeatureSummary  `xml:"enabledFeatures>featureSummary,omitempty"`
	VMs             []VMHealthSummary `xml:"edgeVmsHealthSummary>vmHealthSummary,omitempty"`
	PendingJobs     []EdgeJob         `xml:"pendingJobs>edgeJob,omitempty"`
	ActiveAlarms    []EdgeAlarm       `xml:"activeAlarms>edgeAlarm,omitempty"`
}

// FeatureSummary names an enabled feature of the edge.
type FeatureSummary struct {
	FeatureName    string `xml:"featureName"`
	FeatureVersion string `xml:"featureVersion,omitempty"`
}

// VMHealthSummary is one appliance VM of the edge (two with HA).
type VMHealthSummary struct {
	ID                     string `xml:"id"`
	Name                   string `xml:"name"`
	HaAdminState           string `xml:"haAdminState,omitempty"`
	HaState                string `xml:"haState,omitempty"` // active, standby; absent when unknown
	MpConnectivityStatus   string `xml:"mpConnectivityStatus,omitempty"`
	HaIndex                int    `xml:"haIndex"`
	LastHeartBeatTimeStamp string `xml:"lastHeartBeatTimeStamp,omitempty"` // epoch ms
	VMConfigVersion        string `xml:"vmConfigVersion,omitempty"`
}

// EdgeJob is a job still running on the edge.
type EdgeJob struct {
	JobID      string `xml:"jobId"`
	Message    string `xml:"message,omitempty"`
	JobType    string `xml:"jobType,omitempty"`
	Status     string `xml:"status,omitempty"`
	SubmitTime string `xml:"submitTime,omitempty"`
}

// EdgeAlarm is an active alarm of the edge.
type EdgeAlarm struct {
	AlarmID         string `xml:"alarmId"`
	AlarmCode       string `xml:"alarmCode"`
	Severity        string `xml:"severity,omitempty"`
	Message         string `xml:"message"`
	TimeOfOccurence string `xml:"timeOfOccurence,omitempty"` // epoch ms (sic)
}

// EdgeStatus is GET /api/4.0/edges/{edgeId}/status (deprecated in 6.4.2, still answered).
type EdgeStatus struct {
	XMLName          xml.Name        `xml:"edgeStatus"`
	Timestamp        string          `xml:"timestamp,omitempty"` // epoch ms
	SystemStatus     string          `xml:"systemStatus,omitempty"`
	ActiveVseHaIndex *int            `xml:"activeVseHaIndex,omitempty"`
	EdgeStatus       string          `xml:"edgeStatus,omitempty"`
	PublishStatus    string          `xml:"publishStatus,omitempty"`
	Version          string          `xml:"version,omitempty"`
	VMs              []EdgeVMStatus  `xml:"edgeVmStatus>edgeVmStatus,omitempty"`
	Features         []FeatureStatus `xml:"featureStatuses>featureStatus,omitempty"`
}

// EdgeVMStatus is one appliance VM in the status document.
type EdgeVMStatus struct {
	EdgeVMStatus string `xml:"edgeVMStatus,omitempty"`
	HaState      string `xml:"haState,omitempty"`
	Index        int    `xml:"index"`
	ID           string `xml:"id"`
	Name         string `xml:"name"`
}

// FeatureStatus is one service's state on the edge (ipsec, syslog, firewall...).
type FeatureStatus struct {
	Service       string `xml:"service"`
	Configured    bool   `xml:"configured"`
	PublishStatus string `xml:"publishStatus,omitempty"`
	ServerStatus  string `xml:"serverStatus,omitempty"` // up, down
}

// Appliance is the edge's active appliance: what the engine needs to reach it over SSH.
// The Manager's API gives VM identity, not a management address; the engine maps
// Index/Name to an SSH address from its inventory.
type Appliance struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`  // the appliance VM's name, "<edge name>-<index>"
	VMID    string `json:"vm_id"` // vm-358
	HaState string `json:"ha_state,omitempty"`
	// HaVnic is the vNic the HA heartbeat uses (health summary only).
	HaVnic string `json:"ha_vnic,omitempty"`
	// Source names the endpoint the answer came from: "healthsummary" or "status".
	Source string `json:"source"`
}

// PeerConfig is GET /api/4.0/edges/{edgeId}/peerconfig?...&templateId=text, parsed from the text
// template into typed fields: the Edge's fixed phase 1 / phase 2 / DPD parameters for a site.
type PeerConfig struct {
	SiteID   string     `json:"site_id"`
	SiteName string     `json:"site_name"`
	VPNType  string     `json:"vpn_type"` // "Policy-based VPN", "Route-based VPN"
	EdgeID   string     `json:"edge_id"`
	Phase1   PeerPhase1 `json:"phase1"`
	Phase2   PeerPhase2 `json:"phase2"`
	DPD      PeerDPD    `json:"dpd"`
	// TunnelMTU is the route-based VTI's MTU in bytes (0 when absent).
	TunnelMTU int `json:"tunnel_mtu,omitempty"`
	// PSK holds a pre-shared key line if the template carries one; it never prints.
	PSK Secret `json:"psk,omitempty"`
	// Other keeps every "key : value" line not mapped to a field above, keyed as written.
	Other map[string]string `json:"other,omitempty"`
}

// PeerPhase1 is the IKE SA part of the peer configuration.
type PeerPhase1 struct {
	InitiationMode      string        `json:"initiation_mode"` // initiator, responder
	IKEVersion          string        `json:"ike_version"`     // ikev1, ikev2
	AuthMethod          string        `json:"auth_method"`     // psk, x.509
	AuthAlgorithm       string        `json:"auth_algorithm"`  // sha1, sha-256
	EncryptionAlgorithm string        `json:"encryption_algorithm"`
	SALifetime          time.Duration `json:"sa_lifetime"`
	NegotiationMode     string        `json:"negotiation_mode"` // main
	DHGroup             string        `json:"dh_group"`         // DH14
}

// PeerPhase2 is the IPsec SA part of the peer configuration.
type PeerPhase2 struct {
	Protocol          string        `json:"protocol"` // ESP
	SALifetime        time.Duration `json:"sa_lifetime"`
	EncapsulationMode string        `json:"encapsulation_mode"`
	PFS               bool          `json:"pfs"`
	PFSDHGroup        string        `json:"pfs_dh_group"`
}

// PeerDPD is the dead peer detection part of the peer configuration.
type PeerDPD struct {
	Enabled  bool          `json:"enabled"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
}

// APIErrorBody is the <error> document NSX returns with 4xx/5xx answers.
type APIErrorBody struct {
	XMLName    xml.Name `xml:"error"`
	Details    string   `xml:"details"`
	ErrorCode  int      `xml:"errorCode"`
	ModuleName string   `xml:"moduleName,omitempty"`
}

// apiErrorList is the <errors> variant holding several <error> elements.
type apiErrorList struct {
	XMLName xml.Name       `xml:"errors"`
	Errors  []APIErrorBody `xml:"error"`
}

// CLIRequest is the central CLI's request body.
type CLIRequest struct {
	XMLName xml.Name `xml:"nsxcli"`
	Command string   `xml:"command"`
}
