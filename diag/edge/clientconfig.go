package edge

import "golang.org/x/crypto/ssh"

// ClientConfig returns the SSH client configuration Dial uses for t (password and key auth,
// known_hosts checking with HostKeyError, host-key algorithms pinned to the keys on file), so
// other SSH clients of the bot (the strongSwan peer driver) check hosts the same way.
func ClientConfig(t Target) (*ssh.ClientConfig, error) {
	t.defaults()
	hostKey, algos, err := hostKeyCheck(t, t.Logger)
	if err != nil {
		return nil, err
	}
	auth, err := authMethods(t)
	if err != nil {
		return nil, err
	}
	return &ssh.ClientConfig{User: t.User, Auth: auth, HostKeyCallback: hostKey, HostKeyAlgorithms: algos, Timeout: t.ConnectTimeout}, nil
}
