package handlers

import (
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"ipsecbot/diag"
)

// dataPathBlock is step 8's part of the verdict: where the ping stopped, the four-point table
// and the captures (uploaded into the thread with the ladder diagram).
func dataPathBlock(dp *diag.DataPath) slack.Block {
	head := fmt.Sprintf("*Data path (step 8)*: `%s`", dp.Verdict)
	if dp.Stop != 0 {
		head = fmt.Sprintf("*Data path (step 8)*: the %s ping's %s stopped at point %d · `%s`", escape(dp.Direction), escape(dp.Leg), dp.Stop, dp.Verdict)
	}
	// The table without the summary and evidence that follow it (the verdict above has them).
	table, _, _ := strings.Cut(dp.Table, "\nverdict:")
	text := truncate(head, 300) + "\n```" + truncate(escape(strings.TrimRight(table, "\n")), 2300) + "```"
	if len(dp.Captures) > 0 {
		files := strings.Join(dp.Captures, ", ")
		if dp.Ladder != "" {
			files += " · ladder: " + dp.Ladder
		}
		text += "\n" + truncate("captures: "+escape(files), 300)
	}
	return section(text)
}
