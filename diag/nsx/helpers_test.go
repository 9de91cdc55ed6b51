package nsx_test

import (
	"encoding/xml"
	"io"
)

func xmlEncode(w io.Writer, v any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	return xml.NewEncoder(w).Encode(v)
}
