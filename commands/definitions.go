// Package commands is the Discord presentation of the render engine: one route table for the slash
// commands (each in its own file, definition beside handler), components, modals and autocomplete, the
// message views, and the engine's Notifier for Discord. It adds no rules of its own: what a render is and
// how it runs is the engine's business.
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

func choices(values ...string) []*discordgo.ApplicationCommandOptionChoice {
	out := make([]*discordgo.ApplicationCommandOptionChoice, len(values))
	for i, v := range values {
		out[i] = &discordgo.ApplicationCommandOptionChoice{Name: v, Value: v}
	}
	return out
}
