// Package viggletest is a fake of the Viggle /api REST server (see
// shared/reference/viggle-api.md) for tests and for the bot's mock mode
// (VIGGLE_API_URL=mock starts one in-process with Start). It uses only the
// standard library and does not import package testing, so it is safe in a
// long-running process: it keeps the last 10,000 requests (WithRecordLimit)
// and per-path counters.
//
// # Endpoints
//
//   - POST /api/render: multipart/form-data or x-www-form-urlencoded with
//     scene_id (required, else 400 CS-ORIV-002), character_mapping (a JSON
//     object of non-empty strings to non-empty strings, else 400
//     CS-ORIV-012; either it or character_id must be present, else 400
//     CS-UORC01-002), background_mode (original, solid, transparent or
//     inpaint, default original, else 400 CS-ORIV-011), bg_color ("R,G,B",
//     0-255, only with solid, else 400 CS-UORC01-002), model (V4_Preview or
//     V3_Preview if present), fast ("true" or "false" if present). Unknown
//     scene: 400 CS-ORIV-009 "Scene not found". Success: 200
//     {"job_id","status":"queued","mode":"preprocessed"|"fast","enqueued_at"}.
//     Outcomes a client cannot know, per Scenario: SubmitCut (the connection
//     closed without an answer once the request was read; the render is made
//     only with SubmitCutCreates), SubmitNoJobID (200 without job_id; made),
//     and a bare 5xx SubmitStatus (a plain or HTML gateway page, no JSON).
//   - GET /api/render/{id}: the status object with every documented field
//     (job_id, status, mode, checkpoint, progress_pct, cdn_url, mask_cdn_url,
//     download_url, error_code, error_message, error, progress
//     {completed_chunks,total_chunks,percent}, chunks [], created_at,
//     completed_at); fields without a value are null. status is "queued" for
//     the first 10 % of the run, then "processing", then "complete", "failed"
//     or "cancelled". checkpoint is null, then ref_done, dri_done, bg_done as
//     progress passes 25, 50, 75 %, and render_done when complete.
//   - DELETE /api/render/{id}: 200 {"job_id","status":"cancelled"} for a job in
//     progress (or already cancelled); 409 CS-CONFLICT for a complete or
//     failed job.
//   - GET /api/render/{id}/download: 302 to a fresh signed CDN URL; 409
//     CS-CONFLICT unless complete.
//   - GET /api/credits: {"balance":1000}.
//   - GET or HEAD /cdn/{id}.mp4 and /cdn/{id}-mask.mp4 (mask: transparent jobs
//     only): no auth; ?exp=<unix ms>&sig=<hex> (and &g=<n> after a CDNExpired
//     refusal) must match; 403 with an XML body once exp has passed by the
//     server's clock (WithCDNTTL, default 1 h) or when CDNExpired refuses.
//     Served with Content-Length and Content-Type video/mp4 (see Video).
//   - Unknown or undecodable job id: 404 {"detail":{"error_code":"CS-NOTFOUND",
//     "message":"Job not found",...}}. Unknown path: 404 {"detail":"Not Found"};
//     wrong method: 405 {"detail":"Method Not Allowed"}.
//
// With WithAPIKey every /api call needs "Authorization: Bearer <key>": no
// header answers 401 {"detail":"Not authenticated"}, a wrong key 401
// {"detail":{"error_code":"CS-UORC01-007","message":"Invalid or expired API
// key","action":"Check your API key in the Viggle dashboard"}}. Every request
// (also refused ones, also /cdn/) is counted and recorded.
//
// # Job ids and processes
//
// A job's state is derived from its id, which encodes the scene id, the
// creation time (unix ms), the background mode, the fast flag and a random
// nonce ("job_" + base64url, at most 128 characters; a scene id over 64
// bytes is carried as a hash, resolved among the scenarios a Server knows). So a second process (a restarted bot running its own fake) can
// answer for a job created by an earlier one, as long as it knows the scene:
// time-based progress is the same given the same clock. Kept only in memory,
// and so lost in a fresh process: count-based progress (Scenario.Polls; a
// fresh process uses Duration instead), PollErrors already served (served
// again), cancellations (the job is not cancelled there) and CDN-expiry
// bookkeeping (the first CDN GET is refused again).
//
// # Default scenarios
//
//   - scene_demo: completes about 6 s after creation (time-based), 4 steps,
//     demo video (12 KB, 160x120, 2 s H.264).
//   - scene_fail: runs about 4 s, then fails with error_code CS-UORC01-009,
//     error_message "Rendering failed: could not track a person in the
//     template".
//   - scene_big: completes in about 6 s with a 12 MiB video (over Discord's
//     10 MiB default upload limit).
//   - scene_slow: completes in 90 s.
//   - scene_nocredits: POST refused with HTTP 402, CS-UORC01-008 "Insufficient
//     credits".
//   - scene_flaky: the first status polls of each job answer 429
//     (Retry-After: 1), 503 (Retry-After: 1), then a malformed 200; it
//     completes about 8 s after creation.
//   - scene_expired: completes in about 6 s; the first CDN download of each
//     job answers 403 (expired URL); a fresh status poll gives a URL that works.
//   - scene_stuck: never completes ("processing" at 75 %) until cancelled.
//   - any other scene id: POST answers 400 CS-ORIV-009 "Scene not found".
//
// Transparency is not a scene: background_mode=transparent in the POST makes
// the complete status carry mask_cdn_url and the mask video is served.
package viggletest
