package main

import "ipsecbot/diag/datapath/scene"

// dataPathScenarios lists the data-path scenario names for --list: `bot demo --scenario
// datapath-...` runs the procedure with step 8 against the lab, whose VM 1 ESXi host, Edge and
// far side capture that scene.
func dataPathScenarios() []string {
	var out []string
	for _, s := range scene.Scenes() {
		out = append(out, s.Name())
	}
	return out
}
