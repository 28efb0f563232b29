package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"strings"
)

// parseBody splits a request body into its JSON part and its files. A JSON
// body is returned as is; a multipart body yields payload_json and the file
// parts (files[n]).
func parseBody(contentType string, body []byte) ([]byte, []File, *apiError) {
	if len(body) == 0 {
		return nil, nil, nil
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = ""
	}
	switch mt {
	case "multipart/form-data":
		return parseMultipart(params["boundary"], body)
	case "application/json", "":
		if !json.Valid(body) {
			return nil, nil, errInvalidJSON()
		}
		return body, nil, nil
	default:
		return nil, nil, errInvalidJSON()
	}
}

func parseMultipart(boundary string, body []byte) ([]byte, []File, *apiError) {
	if boundary == "" {
		return nil, nil, errInvalidJSON()
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var payload []byte
	var files []File
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, errInvalidJSON()
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, errInvalidJSON()
		}
		name := p.FormName()
		switch {
		case name == "payload_json":
			if !json.Valid(data) {
				return nil, nil, errInvalidJSON()
			}
			payload = data
		case p.FileName() != "" || strings.HasPrefix(name, "files["):
			files = append(files, File{
				Field:       name,
				Name:        p.FileName(),
				ContentType: p.Header.Get("Content-Type"),
				Data:        data,
			})
		}
	}
	return payload, files, nil
}

// decodeObject decodes a JSON object into its raw fields; a nil body is an
// empty object.
func decodeObject(b []byte) (map[string]json.RawMessage, *apiError) {
	m := map[string]json.RawMessage{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, invalidForm([]fieldErr{ferr(nil, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")})
	}
	return m, nil
}

// isNull reports whether a raw field is absent-equivalent JSON null.
func isNull(r json.RawMessage) bool {
	return len(r) == 0 || string(bytes.TrimSpace(r)) == "null"
}
