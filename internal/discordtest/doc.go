// Package discordtest is an in-process fake of Discord for the project's tests.
//
// It serves the parts of Discord's REST API (v9 paths as discordgo sends them,
// also /api/v10 and /api without a version) and of the gateway that a
// slash-command bot uses, with Discord's documented JSON shapes and error
// codes:
//
//   - REST: users/@me, gateway discovery, guilds, application commands (bulk
//     overwrite), interaction callbacks, webhook edits and follow-ups with
//     multipart attachments, channel messages (with nonce + enforce_nonce), DM
//     channels. Every request is recorded (see Requests) for assertions and
//     for a conformance check against Discord's OpenAPI description.
//   - Gateway (ws://<host>/gateway): HELLO, IDENTIFY, READY, GUILD_CREATE,
//     heartbeats, INTERACTION_CREATE dispatch, RESUME answered with
//     INVALID_SESSION. Faults for reconnect tests: the gateway down (discovery
//     and the handshake answer 503), connections cut at once or silent
//     (no HELLO) (SetGatewayFault, WithGatewayFault), open connections cut
//     without a close frame (DropConnections) or closed with a code (Disconnect).
//   - HTTP interactions: SetInteractionsEndpoint makes the Send methods POST
//     each interaction to the bot's endpoint, signed with an Ed25519 key
//     (Signature), and take the HTTP answer as its callback; SendPing sends
//     the PING Discord uses to check an endpoint.
//   - Sharding: GET /gateway/bot recommends WithShards' count (and
//     WithMaxConcurrency's max_concurrency); a connection identified as shard
//     [id, n] hears only of the guilds of that shard (ShardOf), READY,
//     GUILD_CREATE and interactions alike; DropShard cuts one shard's
//     connections only.
//   - Discord's hard walls: 40060 for a second acknowledgement, 10062 for a
//     late one (SlashCommand.LateAck, WithAckDeadline), 401/50027 for an expired
//     interaction token (ExpireToken, or 15 minutes by the fake's clock),
//     413/40005 for an upload over the interaction's attachment_size_limit,
//     and scripted failures such as a 429 with retry_after (FailNext).
//
// A test starts the fake, points the bot's HTTP client at the returned origin
// (a RoundTripper that rewrites https://discord.com), waits for the bot to
// connect (WaitReady), plays a user with SendCommand or SendComponent, and
// then waits for the outcome with WaitFor or Changed and inspects it with
// Original, Followups, ChannelMessages, Callbacks and Requests (a message's
// allowed_mentions: Message.Mentions, and whom it notifies: PingedUsers).
//
// The fake's clock (WithClock) drives snowflake timestamps, the 3 s
// acknowledgement deadline and the 15 minute token lifetime, so tests can
// move time forward without sleeping.
package discordtest
