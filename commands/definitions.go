// Package commands is the Discord presentation of the render engine: the slash commands as data, one
// router for commands, buttons and autocomplete, the message views, and the engine's Notifier for
// Discord. It adds no rules of its own: what a render is and how it runs is the engine's business.
package commands

import (
	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/store"
)

// Command and option names: the outside contract.
const (
	CmdRender = "render"
	CmdJobs   = "jobs"

	OptScene      = "scene"
	OptMap        = "map"
	OptBackground = "background"
	OptBGColor    = "bg_color"
	OptFast       = "fast"
	OptModel      = "model"
	OptStatus     = "status"
)

// /jobs status filter values and the job states each one lists.
const (
	StatusRunning   = "running"
	StatusDone      = "done"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

var statusStates = map[string][]store.State{
	StatusRunning:   {store.StateQueued, store.StateSubmitting, store.StateRunning, store.StateComplete, store.StateDelivering},
	StatusDone:      {store.StateDelivered, store.StateUndeliverable},
	StatusFailed:    {store.StateFailed, store.StateInterrupted},
	StatusCancelled: {store.StateCancelled},
}

// Button custom-id prefixes: "<prefix>:<job id>".
const (
	btnCancel = "cancel"
	btnRetry  = "retry"
	btnPage   = "jobs" // jobs:<owner>:<status>:<page>
)

func choices(values ...string) []*discordgo.ApplicationCommandOptionChoice {
	out := make([]*discordgo.ApplicationCommandOptionChoice, len(values))
	for i, v := range values {
		out[i] = &discordgo.ApplicationCommandOptionChoice{Name: v, Value: v}
	}
	return out
}

// Definitions returns the slash commands, registered by bulk overwrite at start.
func Definitions() []*discordgo.ApplicationCommand {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	return []*discordgo.ApplicationCommand{
		{
			Name:        CmdRender,
			Description: "Render a Viggle scene with your characters on its persons",
			Contexts:    &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: OptScene, Required: true, MaxLength: 128,
					Description: "The Viggle scene id (a multi-person template)"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptMap, Required: true, MaxLength: 6000,
					Description: "person=character pairs, e.g. person_a=char_alice, person_b=char_bob"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptBackground,
					Description: "Background of the video (default: original)", Choices: choices("original", "solid", "transparent")},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptBGColor, MaxLength: 20,
					Description: "Solid background colour: R,G,B or #RRGGBB (implies solid)"},
				{Type: discordgo.ApplicationCommandOptionBoolean, Name: OptFast,
					Description: "About twice as fast, for twice the credits"},
				{Type: discordgo.ApplicationCommandOptionString, Name: OptModel,
					Description: "Viggle model (the scene's own is used by default)", Choices: choices("V4_Preview", "V3_Preview")},
			},
		},
		{
			Name:        CmdJobs,
			Description: "Your latest renders in this server (only you see the list)",
			Contexts:    &guildOnly,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: OptStatus,
					Description: "Only renders that are…", Choices: choices(StatusRunning, StatusDone, StatusFailed, StatusCancelled)},
			},
		},
	}
}
