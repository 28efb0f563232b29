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
//   - POST /api/scenes/import: JSON {"template_id" (required), "name"
//     (optional)}. Answers 200 {"id","status":"pending","credits_reserved",
//     "segments":[{"uuid":"person_<8 hex>","type":"human"},…]} (one segment
//     per Template.Persons, none for a plain video template;
//     credits_reserved is one per second started of Template.Duration), or
//     with Template.Shape ShapeCharacterUUIDs {"scene_id","template_uuid",
//     "status":"pending","credits_reserved","character_uuids":[…]}. Unknown
//     template: 404 CS-NOTFOUND "Template not found". Missing or empty
//     template_id, a name that is not a string, a body that is not a JSON
//     object or a Content-Type other than application/json: 422 in
//     FastAPI's shape {"detail":[{"loc":["body",field],"msg","type"}]}.
//   - GET /api/scenes/{id}: {"id","name","status","duration_seconds","fps",
//     "total_frames","width","height","job_id","error_message",
//     "credits_used","created_at","completed_at"} (no segments, as
//     documented). status is "pending", then "ready" (duration_seconds,
//     fps 30, 720x1280 set) or "failed" (error_message = FailMessage), after
//     Template.ReadyAfter (time-based from the import time carried in the
//     id) or at the Template.ImportPolls-th GET (in memory). name is the
//     given one, else (and in another process) the template id. Unknown
//     scene: 404 CS-ORIV-009.
//   - POST /api/render on an imported scene: 400 CS-ORIV-010 "Scene is still
//     preprocessing" while pending, 400 CS-ORIV-009 when its import failed;
//     once ready it renders like any scene, with Template.Render (default
//     ImportedScenario, like scene_demo). Mapping keys and character ids are
//     not checked against the scene's segments or known characters.
//   - POST /api/characters/preprocess: multipart (or urlencoded) with name
//     (required, else 422) and image_url (an absolute http(s) URL, else 400
//     CS-UORC01-002) or an image file part (neither: 400 CS-ORIV-001).
//     Answers 200 {"character_id" (a UUID),"job_id":"char_<12 hex>",
//     "status":"pending","enqueued_at"}. An image_url containing "fail" (any
//     case) makes a character that fails.
//   - GET /api/characters/{id}: {"id","name","status","job_id","error",
//     "error_message","thumbnail_url","credits_used","created_at",
//     "completed_at"}: "pending" at the first poll, "processing", then at the
//     WithCharacterPolls-th poll (default 2) "ready" with thumbnail_url
//     /cdn/characters/{id}.png (an 8x8 PNG, no auth) and credits_used 1, or
//     "failed" with error "Preprocessing failed" and error_message
//     CharacterFailMessage. A character id carries its creation time and
//     fate, so another process answers for it: ready (or failed) at once,
//     with name null. Unknown id: 404 CS-NOTFOUND "Character not found".
//   - GET /api/credits: {"balance":n}, n from WithCredits (default 1000) or
//     SetCredits. Nothing else changes it: renders, imports and characters
//     do not spend credits in the fake.
//   - GET or HEAD /cdn/{id}.mp4 and /cdn/{id}-mask.mp4 (mask: transparent jobs
//     only): no auth; ?exp=<unix ms>&sig=<hex> (and &g=<n> after a CDNExpired
//     refusal) must match; 403 with an XML body once exp has passed by the
//     server's clock (WithCDNTTL, default 1 h) or when CDNExpired refuses.
//     Served with Content-Length and Content-Type video/mp4 (see Video).
//   - Unknown or undecodable job id: 404 {"detail":{"error_code":"CS-NOTFOUND",
//     "message":"Job not found",...}}. Unknown path: 404 {"detail":"Not Found"};
//     wrong method: 405 {"detail":"Method Not Allowed"}.
//
// With WithAPIKey every /api call needs "Authorization: Bearer <key>"
// (WithAPIKeys: any of several keys, one account for all of them): no
// header answers 401 {"detail":"Not authenticated"}, a wrong key 401
// {"detail":{"error_code":"CS-UORC01-007","message":"Invalid or expired API
// key","action":"Check your API key in the Viggle dashboard"}}. Every request
// (also refused ones, also /cdn/) is counted and recorded; a recorded
// Request carries the form of POST /api/render and /api/characters/preprocess
// and the JSON body of POST /api/scenes/import.
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
// # Default templates
//
// Import these with POST /api/scenes/import (mock mode's /scene import):
//
//   - tpl_duo: 2 persons, 8 s video, ready 2 s after the import.
//   - tpl_trio: 3 persons, 12 s video, ready after 3 s.
//   - tpl_solo: 1 person, 5 s video, ready after 1 s.
//   - tpl_plain: a plain video template without segments, 6 s, ready after 1 s.
//   - tpl_legacy: 2 persons, 10 s, ready after 2 s, answered in the
//     third-party shape (scene_id, template_uuid, character_uuids).
//   - tpl_broken: 2 persons; the import fails after 2 s ("Template import
//     failed: no person could be tracked in the video").
//   - any other template id: 404 CS-NOTFOUND.
//
// Imported scenes render like scene_demo (ImportedScenario). WithTemplates
// replaces this list; SetTemplate adds to it.
//
// Transparency is not a scene: background_mode=transparent in the POST makes
// the complete status carry mask_cdn_url and the mask video is served.
package viggletest
