package viggle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

const video = "\x00\x00\x00\x18ftypmp42 fake video bytes"

// statusBody is a status answer with the given string fields.
func statusBody(t testing.TB, fields map[string]string) string {
	t.Helper()
	m := map[string]string{"job_id": "job_1", "status": "complete"}
	for k, v := range fields {
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noAuth fails if a request meant for the CDN carries credentials.
func noAuth(t testing.TB, r *http.Request) {
	t.Helper()
	if v, ok := r.Header["Authorization"]; ok {
		t.Errorf("%s %s: Authorization sent to the CDN: %q", r.Method, r.URL.Path, v)
	}
	if v := r.Header.Get("Referer"); v != "" {
		t.Errorf("%s: Referer sent: %q", r.URL.Path, v)
	}
}

func serveVideo(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write([]byte(body))
}

func TestDownloadFromCDN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		field string // status field carrying the link
		link  func(cdn, api string) string
	}{
		{"cdn_url on another host", "cdn_url", func(cdn, _ string) string { return cdn + "/v.mp4?sig=abc" }},
		{"download_url only", "download_url", func(cdn, _ string) string { return cdn + "/v.mp4?sig=abc" }},
		{"cdn_url on the API host", "cdn_url", func(_, api string) string { return api + "/cdn/v.mp4?sig=abc" }},
		{"relative cdn_url", "cdn_url", func(_, _ string) string { return "/cdn/v.mp4?sig=abc" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lim := &countingLimiter{}
			mux, c, api := setup(t, WithLimiter(lim))
			var files counter
			fileHandler := files.wrap(func(w http.ResponseWriter, r *http.Request) {
				noAuth(t, r)
				if r.URL.Query().Get("sig") != "abc" {
					t.Errorf("signature lost: %q", r.URL.RawQuery)
				}
				serveVideo(w, video)
			})
			cdn := newServer(t, fileHandler)
			mux.HandleFunc("GET /cdn/v.mp4", fileHandler)
			mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
				testAPIHeaders(t, r)
				fmt.Fprint(w, statusBody(t, map[string]string{tt.field: tt.link(cdn.URL, api.URL)}))
			})
			wantVideo(t, c)
			if files.get() != 1 {
				t.Errorf("%d file requests, want 1", files.get())
			}
			if lim.calls() != 1 {
				t.Errorf("%d limiter waits, want 1 (the status call; the CDN is not limited)", lim.calls())
			}
		})
	}
}

// Without a link, /download is used with the token; the redirect to another server (same host name, other
// port — a case where Go itself keeps the header) must not carry it.
func TestDownloadEndpointRedirect(t *testing.T) {
	t.Parallel()
	lim := &countingLimiter{}
	mux, c, _ := setup(t, WithLimiter(lim))
	var files counter
	files2 := newServer(t, files.wrap(func(w http.ResponseWriter, r *http.Request) {
		noAuth(t, r)
		if r.URL.Query().Get("sig") != "xyz" {
			t.Errorf("signature lost: %q", r.URL.RawQuery)
		}
		serveVideo(w, video)
	}))
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, statusBody(t, nil))
	})
	mux.HandleFunc("GET /api/render/{id}/download", func(w http.ResponseWriter, r *http.Request) {
		testAPIHeaders(t, r)
		// First a hop on the API origin, which keeps the token.
		http.Redirect(w, r, "/api/render/job_1/file", http.StatusFound)
	})
	mux.HandleFunc("GET /api/render/{id}/file", func(w http.ResponseWriter, r *http.Request) {
		testHeader(t, r, "Authorization", "Bearer "+testKey)
		http.Redirect(w, r, files2.URL+"/out.mp4?sig=xyz", http.StatusTemporaryRedirect)
	})
	wantVideo(t, c)
	if files.get() != 1 {
		t.Errorf("%d file requests, want 1", files.get())
	}
	if lim.calls() != 2 {
		t.Errorf("%d limiter waits, want 2 (status and /download)", lim.calls())
	}
}

func TestDownloadExpiredLink(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		asset         Asset
		field         string
		first         string // path of the first link
		freshPath     string // path of the fresh link; "" = none
		wantErr       int    // APIError status; -1 = other error; 0 = success
		wantStatus    int    // status calls
		wantDL        int    // /download calls
		expiredStatus int    // answer of the first link
	}{
		{"403 then fresh link", AssetVideo, "cdn_url", "/old.mp4", "/new.mp4", 0, 2, 0, 403},
		{"410 then no link", AssetVideo, "cdn_url", "/old.mp4", "", 0, 2, 1, 410},
		{"404 then the same link", AssetVideo, "cdn_url", "/old.mp4", "/old.mp4", 0, 2, 1, 404},
		{"403 twice", AssetVideo, "cdn_url", "/old.mp4", "/also-expired.mp4", 403, 2, 0, 403},
		{"mask 403 then fresh", AssetMask, "mask_cdn_url", "/old.mp4", "/new.mp4", 0, 2, 0, 403},
		{"mask 403 then none", AssetMask, "mask_cdn_url", "/old.mp4", "", -1, 2, 0, 403},
		{"401 is not expiry", AssetVideo, "cdn_url", "/old.mp4", "/new.mp4", 401, 1, 0, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mux, c, _ := setup(t)
			cdnMux := http.NewServeMux()
			cdn := newServer(t, cdnMux.ServeHTTP)
			cdnMux.HandleFunc("/old.mp4", func(w http.ResponseWriter, r *http.Request) {
				noAuth(t, r)
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.expiredStatus)
				fmt.Fprint(w, `<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>`)
			})
			cdnMux.HandleFunc("/also-expired.mp4", func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "expired", http.StatusForbidden)
			})
			cdnMux.HandleFunc("/new.mp4", func(w http.ResponseWriter, r *http.Request) {
				noAuth(t, r)
				serveVideo(w, video)
			})
			var statuses, downloads counter
			mux.HandleFunc("GET /api/render/{id}", statuses.wrap(func(w http.ResponseWriter, r *http.Request) {
				link := cdn.URL + tt.first + "?sig=1"
				if statuses.get() > 1 {
					link = ""
					if tt.freshPath != "" {
						link = cdn.URL + tt.freshPath + "?sig=2"
						if tt.freshPath == tt.first {
							link = cdn.URL + tt.first + "?sig=1"
						}
					}
				}
				fmt.Fprint(w, statusBody(t, map[string]string{tt.field: link}))
			}))
			mux.HandleFunc("GET /api/render/{id}/download", downloads.wrap(func(w http.ResponseWriter, r *http.Request) {
				testAPIHeaders(t, r)
				serveVideo(w, video)
			}))
			var buf bytes.Buffer
			n, err := c.Download(t.Context(), "job_1", tt.asset, &buf, 1<<20)
			switch {
			case tt.wantErr == 0:
				if err != nil || buf.String() != video || n != int64(len(video)) {
					t.Fatalf("Download = %d, %v (%q); want the video", n, err, buf.String())
				}
			case tt.wantErr > 0:
				var ae *APIError
				if !errors.As(err, &ae) || ae.HTTPStatus != tt.wantErr {
					t.Fatalf("error = %v, want *APIError %d", err, tt.wantErr)
				}
			default:
				if err == nil {
					t.Fatal("Download succeeded, want an error")
				}
			}
			if statuses.get() != tt.wantStatus || downloads.get() != tt.wantDL {
				t.Errorf("%d status and %d /download calls, want %d and %d", statuses.get(), downloads.get(), tt.wantStatus, tt.wantDL)
			}
			noKey(t, err)
			if err != nil && strings.Contains(err.Error(), "sig=") {
				t.Errorf("error shows the signed query: %v", err)
			}
		})
	}
}

func TestDownloadTooLarge(t *testing.T) {
	t.Parallel()
	const max = 10
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantErr   *TooLargeError // nil = success
		wantBytes int
	}{
		{"content-length over the limit", func(w http.ResponseWriter, r *http.Request) {
			serveVideo(w, strings.Repeat("v", 1000))
		}, &TooLargeError{Size: 1000, Max: max}, 0},
		{"streamed over the limit", func(w http.ResponseWriter, r *http.Request) {
			for range 3 {
				_, _ = w.Write([]byte("12345678"))
				w.(http.Flusher).Flush()
			}
		}, &TooLargeError{Size: -1, Max: max}, max},
		{"streamed exactly the limit", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("12345"))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("67890"))
		}, nil, max},
		{"content-length exactly the limit", func(w http.ResponseWriter, r *http.Request) {
			serveVideo(w, "1234567890")
		}, nil, max},
	}
	for _, tt := range tests {
		for _, viaEndpoint := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/endpoint=%v", tt.name, viaEndpoint), func(t *testing.T) {
				t.Parallel()
				mux, c, _ := setup(t)
				var files counter
				cdn := newServer(t, files.wrap(tt.handler))
				link := cdn.URL + "/v.mp4"
				if viaEndpoint {
					link = ""
					mux.HandleFunc("GET /api/render/{id}/download", files.wrap(tt.handler))
				}
				mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": link}))
				})
				var buf bytes.Buffer
				n, err := c.Download(t.Context(), "job_1", AssetVideo, &buf, max)
				if tt.wantErr == nil {
					if err != nil {
						t.Fatalf("Download: %v", err)
					}
				} else {
					var tl *TooLargeError
					if !errors.As(err, &tl) || *tl != *tt.wantErr {
						t.Fatalf("error = %v, want %+v", err, tt.wantErr)
					}
				}
				if n != int64(tt.wantBytes) || buf.Len() != tt.wantBytes {
					t.Errorf("wrote %d (buffer %d) bytes, want %d", n, buf.Len(), tt.wantBytes)
				}
				if files.get() != 1 {
					t.Errorf("%d file requests, want 1 (no retry)", files.get())
				}
			})
		}
	}
}

func TestDownloadMask(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	var files counter
	cdn := newServer(t, files.wrap(func(w http.ResponseWriter, r *http.Request) {
		noAuth(t, r)
		if r.URL.Path != "/mask.mp4" {
			t.Errorf("fetched %s, want the mask", r.URL.Path)
		}
		serveVideo(w, "mask bytes")
	}))
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		fields := map[string]string{"cdn_url": cdn.URL + "/video.mp4"}
		if r.PathValue("id") == "with_mask" {
			fields["mask_cdn_url"] = cdn.URL + "/mask.mp4"
		}
		fmt.Fprint(w, statusBody(t, fields))
	})
	var buf bytes.Buffer
	if _, err := c.Download(t.Context(), "with_mask", AssetMask, &buf, 1<<20); err != nil || buf.String() != "mask bytes" {
		t.Fatalf("Download mask = %q, %v", buf.String(), err)
	}
	buf.Reset()
	_, err := c.Download(t.Context(), "no_mask", AssetMask, &buf, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "mask_cdn_url") {
		t.Fatalf("error = %v, want one about the missing mask_cdn_url", err)
	}
	if files.get() != 1 {
		t.Errorf("%d file requests, want 1", files.get())
	}
}

func TestDownloadRetries(t *testing.T) {
	t.Parallel()
	t.Run("CDN 503 and 429 then ok", func(t *testing.T) {
		t.Parallel()
		mux, c, _ := setup(t)
		var files counter
		cdn := newServer(t, script(&files, answer{status: 503}, answer{status: 429, header: map[string]string{"Retry-After": "1"}}, answer{status: 200, body: video}))
		mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": cdn.URL + "/v.mp4"}))
		})
		wantVideo(t, c)
		if files.get() != 3 {
			t.Errorf("%d file requests, want 3", files.get())
		}
	})
	t.Run("status retried", func(t *testing.T) {
		t.Parallel()
		mux, c, _ := setup(t)
		var statuses counter
		cdn := newServer(t, func(w http.ResponseWriter, r *http.Request) { serveVideo(w, video) })
		mux.HandleFunc("GET /api/render/{id}", script(&statuses, answer{status: 502}, answer{status: 200, body: statusBody(t, map[string]string{"cdn_url": cdn.URL})}))
		wantVideo(t, c)
		if statuses.get() != 2 {
			t.Errorf("%d status requests, want 2", statuses.get())
		}
	})
	t.Run("not after bytes were written", func(t *testing.T) {
		t.Parallel()
		mux, c, _ := setup(t)
		var files counter
		cdn := newServer(t, files.wrap(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100")
			_, _ = w.Write([]byte("0123456789"))
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}))
		mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": cdn.URL}))
		})
		var buf bytes.Buffer
		n, err := c.Download(t.Context(), "job_1", AssetVideo, &buf, 1<<20)
		if err == nil {
			t.Fatal("Download of a cut-off body succeeded")
		}
		if n != 10 || buf.String() != "0123456789" {
			t.Errorf("wrote %d bytes %q, want the 10 that arrived", n, buf.String())
		}
		if files.get() != 1 {
			t.Errorf("%d file requests, want 1", files.get())
		}
		noKey(t, err)
	})
	t.Run("writer error not retried", func(t *testing.T) {
		t.Parallel()
		mux, c, _ := setup(t)
		var files counter
		cdn := newServer(t, files.wrap(func(w http.ResponseWriter, r *http.Request) { serveVideo(w, video) }))
		mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": cdn.URL}))
		})
		errDisk := errors.New("disk full")
		_, err := c.Download(t.Context(), "job_1", AssetVideo, failingWriter{errDisk}, 1<<20)
		if !errors.Is(err, errDisk) {
			t.Fatalf("error = %v, want the writer's error", err)
		}
		if files.get() != 1 {
			t.Errorf("%d file requests, want 1", files.get())
		}
	})
}

// wantVideo downloads job_1's video through c and fails the test unless it gets the whole test video.
func wantVideo(t *testing.T, c *Client) {
	t.Helper()
	var buf bytes.Buffer
	n, err := c.Download(t.Context(), "job_1", AssetVideo, &buf, 1<<20)
	if err != nil {
		t.Fatalf("Download: %v", err)
	}
	if n != int64(len(video)) || buf.String() != video {
		t.Errorf("got %d bytes %q, want %q", n, buf.String(), video)
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestDownloadErrors(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	var downloads counter
	closed := "http://" + closedAddr(t)
	mux.HandleFunc("GET /api/render/{id}", func(w http.ResponseWriter, r *http.Request) {
		switch r.PathValue("id") {
		case "failed":
			fmt.Fprint(w, `{"job_id":"failed","status":"failed","error_code":"CS-UORC01-009"}`)
		case "unreachable":
			fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": closed + "/v.mp4?X-Amz-Signature=TOPSECRET&sig=TOPSECRET"}))
		case "bad_link":
			fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": "file:///etc/passwd"}))
		default:
			http.Error(w, `{"detail":"Job not found"}`, http.StatusNotFound)
		}
	})
	mux.HandleFunc("GET /api/render/{id}/download", downloads.wrap(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusNotFound)
	}))
	tests := []struct {
		name  string
		id    string
		asset Asset
		w     io.Writer
		max   int64
	}{
		{"failed job", "failed", AssetVideo, io.Discard, 100},
		{"unknown job", "missing", AssetVideo, io.Discard, 100},
		{"unreachable CDN", "unreachable", AssetVideo, io.Discard, 100},
		{"non-http link", "bad_link", AssetVideo, io.Discard, 100},
		{"zero limit", "failed", AssetVideo, io.Discard, 0},
		{"unknown asset", "failed", Asset(7), io.Discard, 100},
		{"nil writer", "failed", AssetVideo, nil, 100},
	}
	for _, tt := range tests {
		_, err := c.Download(t.Context(), tt.id, tt.asset, tt.w, tt.max)
		if err == nil {
			t.Errorf("%s: Download succeeded", tt.name)
			continue
		}
		if strings.Contains(err.Error(), "TOPSECRET") {
			t.Errorf("%s: error shows the signed query: %v", tt.name, err)
		}
		noKey(t, err)
	}
	if downloads.get() != 0 {
		t.Errorf("%d /download calls, want 0", downloads.get())
	}
}

// DownloadFrom starts from the link the caller already has: no status request unless it has expired,
// then one, and its fresh link.
func TestDownloadFromKnownLink(t *testing.T) {
	t.Parallel()
	mux, c, _ := setup(t)
	var statuses, oldHits, newHits counter
	cdnMux := http.NewServeMux()
	cdn := newServer(t, cdnMux.ServeHTTP)
	cdnMux.HandleFunc("/v.mp4", oldHits.wrap(func(w http.ResponseWriter, r *http.Request) {
		noAuth(t, r)
		if r.URL.Query().Get("sig") == "old" {
			http.Error(w, "expired", http.StatusForbidden)
			return
		}
		serveVideo(w, video)
	}))
	cdnMux.HandleFunc("/new.mp4", newHits.wrap(func(w http.ResponseWriter, r *http.Request) { serveVideo(w, video) }))
	mux.HandleFunc("GET /api/render/{id}", statuses.wrap(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, statusBody(t, map[string]string{"cdn_url": cdn.URL + "/new.mp4?sig=new"}))
	}))

	var buf bytes.Buffer
	n, err := c.DownloadFrom(t.Context(), "job_1", AssetVideo, cdn.URL+"/v.mp4?sig=ok", &buf, 1<<20)
	if err != nil || n != int64(len(video)) || buf.String() != video {
		t.Fatalf("DownloadFrom a valid link = %d bytes, %v", n, err)
	}
	if statuses.get() != 0 {
		t.Fatalf("%d status requests for a link already known, want 0", statuses.get())
	}

	buf.Reset()
	n, err = c.DownloadFrom(t.Context(), "job_1", AssetVideo, cdn.URL+"/v.mp4?sig=old", &buf, 1<<20)
	if err != nil || n != int64(len(video)) || buf.String() != video {
		t.Fatalf("DownloadFrom an expired link = %d bytes, %v", n, err)
	}
	if statuses.get() != 1 || newHits.get() != 1 || oldHits.get() != 2 {
		t.Fatalf("expired link: %d status requests, %d fresh-link and %d old-link fetches; want 1, 1, 2",
			statuses.get(), newHits.get(), oldHits.get())
	}
}
