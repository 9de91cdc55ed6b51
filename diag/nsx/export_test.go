package nsx

// The differential tests compare the two statistics decoders.
var (
	DecodeStatisticsFast = decodeStatisticsFast
	DecodeStatisticsXML  = decodeStatisticsXML
)
