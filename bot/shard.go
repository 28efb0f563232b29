package bot

import (
	"context"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/redact"
)

// Sharding: a gateway connection (a shard) receives the events of the guilds with
// (guild_id >> 22) % shard_count == shard_id, and direct messages on shard 0. discordgo runs one
// shard per Session, so a bot that needs several runs one process per shard (SHARD_ID, SHARD_COUNT),
// all on the same database; each resumes the jobs of its own guilds only (Bot.OwnsGuild).

// ShardOf is the shard of a guild among count shards: (guild_id >> 22) % count. An empty guild id (a
// direct message) or one that is not a snowflake is shard 0, as is every guild when count ≤ 1.
func ShardOf(guildID string, count int) int {
	if count <= 1 {
		return 0
	}
	id, err := strconv.ParseUint(guildID, 10, 64)
	if err != nil {
		return 0
	}
	return int((id >> 22) % uint64(count))
}

// Shard returns the shard this process runs and the shard count: Config's, or [0, n] with n from
// GET /gateway/bot, once Run decided it (before Ready is closed); 0, 0 before, and in HTTP
// interactions mode, which has no shards.
func (b *Bot) Shard() (id, count int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.shardID, b.shardCount
}

// OwnsGuild reports whether this process serves guildID ("" for direct messages): always in HTTP
// interactions mode and before the shard is decided, else when the guild is of this process's shard.
// The engine resumes only the jobs of the guilds it owns.
func (b *Bot) OwnsGuild(guildID string) bool {
	id, count := b.Shard()
	if count <= 1 {
		return id == 0
	}
	return ShardOf(guildID, count) == id
}

// chooseShard sets the session's shard: Config's when ShardCount is set, else shard 0 of what GET
// /gateway/bot recommends. With more than one recommended shard this process serves only 1/n of the
// guilds, which it says loudly: the others need a process each.
func (b *Bot) chooseShard(ctx context.Context) error {
	id, count := b.cfg.ShardID, b.cfg.ShardCount
	if count <= 0 {
		gb, err := b.s.GatewayBot(discordgo.WithContext(ctx))
		if err != nil {
			return redact.Wrap("bot: ask Discord how many shards to run (GET /gateway/bot)", err)
		}
		id, count = 0, max(gb.Shards, 1)
		if count > 1 {
			b.log.Error("Discord asks this bot to run "+strconv.Itoa(count)+" shards and SHARD_COUNT is not set: "+
				"this process runs shard 0 only, and the servers of the other shards get no answer until each shard has "+
				"its own process: run them with SHARD_COUNT="+strconv.Itoa(count)+" and SHARD_ID=0 … "+strconv.Itoa(count-1)+
				", all on the same database", "shard_id", id, "shard_count", count)
		}
	}
	b.s.ShardID, b.s.ShardCount = id, count
	b.mu.Lock()
	b.shardID, b.shardCount = id, count
	b.mu.Unlock()
	b.log.Info("gateway shard", "shard_id", id, "shard_count", count)
	return nil
}
