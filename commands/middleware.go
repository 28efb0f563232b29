package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/redact"
)

// The middleware every interaction goes through, outermost first: one log line, the sending of the
// answer, the automatic deferral, panic recovery, the error sink, and the route's permission check.

// chain wraps h in mw, the first one outermost.
func chain(h Handler, mw ...Middleware) Handler {
	for k := len(mw) - 1; k >= 0; k-- {
		h = mw[k](h)
	}
	return h
}

func (r *Router) middleware() []Middleware {
	return []Middleware{r.logged, r.sending, r.autoDeferring, r.recovering, r.sinking, r.permitted}
}

func isAutocomplete(e *Event) bool {
	return e.Type == discordgo.InteractionApplicationCommandAutocomplete
}

// logged writes one line per interaction: route, outcome and duration (never the token).
func (r *Router) logged(next Handler) Handler {
	return func(ctx context.Context, e *Event) (*Response, error) {
		start := time.Now()
		resp, err := next(ctx, e)
		e.mu.Lock()
		outcome, deferred, ackAt := e.outcome, e.autoDeferred, e.ackAt
		e.mu.Unlock()
		if outcome == "" {
			outcome = "ok"
		}
		if r.obs != nil {
			var ack time.Duration
			if !ackAt.IsZero() {
				ack = ackAt.Sub(start)
			}
			r.obs.Interaction(r.routeLabel(e), outcome, ack, !ackAt.IsZero())
		}
		level := slog.LevelInfo
		attrs := []slog.Attr{slog.String("route", e.Route.Name), slog.String("interaction", e.ID),
			slog.String("guild", e.GuildID), slog.String("user", e.User()),
			slog.String("outcome", outcome), slog.Duration("duration", time.Since(start))}
		if deferred {
			attrs = append(attrs, slog.Bool("auto_deferred", true))
		}
		if err != nil {
			level = slog.LevelWarn
			attrs = append(attrs, slog.String("err", redact.Text(redact.Error(err), e.Token)))
		}
		r.log.LogAttrs(ctx, level, "interaction", attrs...)
		return resp, err
	}
}

// Observer is told about every interaction once it is handled (the bot's metrics). Its method must be
// quick and safe for concurrent use.
type Observer interface {
	// Interaction reports one interaction: its route (see Router.Observe), its outcome (as in its log
	// line: "ok", "refused", "bad input", "error" …), and how long after it reached the router Discord
	// took its acknowledgement (acked false: it was never acknowledged).
	Interaction(route, outcome string, ack time.Duration, acked bool)
}

// Observe makes the router tell o about every interaction. Call it before the first interaction.
// The route it names is one of the table's, so a label made of it stays bounded: a command's path
// ("render", "scene import"), "autocomplete " and a command's path, "component " or "modal " and a
// custom id's prefix ("component cancel"), or the router's own "unknown command", "older custom id"
// and "autocomplete unknown".
func (r *Router) Observe(o Observer) { r.obs = o }

// routeLabel names e's route for an Observer (see Observe).
func (r *Router) routeLabel(e *Event) string {
	rt := e.Route
	switch {
	case rt == unknownCommandRoute || rt == olderIDRoute:
		return rt.Name
	case isAutocomplete(e):
		if r.commands[rt.Name] != rt {
			return "autocomplete unknown" // a path Discord sent that the table does not have
		}
		return "autocomplete " + rt.Name
	case rt.Kind == RouteComponent:
		return "component " + rt.Name
	case rt.Kind == RouteModal:
		return "modal " + rt.Name
	}
	return rt.Name
}

// sending sends what the handler returned; what it returns is the sending's error.
func (r *Router) sending(next Handler) Handler {
	return func(ctx context.Context, e *Event) (*Response, error) {
		resp, err := next(ctx, e)
		if err != nil || resp == nil {
			return nil, err
		}
		if err := e.Respond(ctx, resp); err != nil {
			e.SetOutcome("not answered")
			return nil, fmt.Errorf("send the answer: %w", err)
		}
		return nil, nil
	}
}

// autoDeferring defers the interaction of a handler that has not answered within r.deferAfter; its
// answer then edits the deferred message (see Event.Respond). One timer per interaction, none for a
// route that acknowledges by itself.
func (r *Router) autoDeferring(next Handler) Handler {
	return func(ctx context.Context, e *Event) (*Response, error) {
		if e.Route.NoAutoDefer || isAutocomplete(e) || r.deferAfter <= 0 {
			return next(ctx, e)
		}
		t := time.AfterFunc(r.deferAfter, func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			if e.ack != ackNone {
				return
			}
			if err := e.deferLocked(ctx); err != nil {
				r.log.Warn("automatic deferral failed", "route", e.Route.Name, "interaction", e.ID, "err", redact.Text(redact.Error(err), e.Token))
				return
			}
			e.autoDeferred = true
		})
		defer t.Stop()
		return next(ctx, e)
	}
}

// recovering turns a handler's panic into one ephemeral sentence (an autocomplete gets an empty list),
// logged with its stack.
func (r *Router) recovering(next Handler) Handler {
	return func(ctx context.Context, e *Event) (resp *Response, err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			r.log.Error("interaction handler panicked", "route", e.Route.Name, "interaction", e.ID,
				"panic", redact.Text(fmt.Sprint(v), e.Token), "stack", redact.Text(string(debug.Stack()), e.Token))
			e.SetOutcome("panic")
			resp, err = ephemeralText(PanicReply), nil
			if isAutocomplete(e) {
				resp = emptyChoices()
			}
		}()
		return next(ctx, e)
	}
}

// sinking turns a handler's error into one ephemeral sentence: the error's own (see tell), else a
// generic one. The error is logged with its cause.
func (r *Router) sinking(next Handler) Handler {
	return func(ctx context.Context, e *Event) (*Response, error) {
		resp, err := next(ctx, e)
		if err == nil {
			return resp, nil
		}
		msg := internalError
		var ue *userError
		if errors.As(err, &ue) {
			msg = ue.msg
		}
		r.log.Error("interaction failed", "route", e.Route.Name, "interaction", e.ID, "err", redact.Text(redact.Error(err), e.Token))
		e.SetOutcome("error")
		if isAutocomplete(e) {
			return emptyChoices(), nil
		}
		return ephemeralText(msg), nil
	}
}

// permitted refuses, ephemerally and saying what is needed, a member without the route's permission.
func (r *Router) permitted(next Handler) Handler {
	return func(ctx context.Context, e *Event) (*Response, error) {
		why := r.refusal(e)
		if why == "" {
			return next(ctx, e)
		}
		e.SetOutcome("refused")
		if isAutocomplete(e) {
			return emptyChoices(), nil
		}
		return ephemeralText(why), nil
	}
}

// canManageGuild reports whether the member has Manage Server (or Administrator, which implies it):
// the route permission PermManageGuild, and the handlers' own "its owner, or Manage Server" checks.
func canManageGuild(e *Event) bool {
	const need = discordgo.PermissionManageGuild | discordgo.PermissionAdministrator
	return e.Member != nil && e.Member.Permissions&need != 0
}

// refusal is why e's member may not use its route ("" when they may).
func (r *Router) refusal(e *Event) string {
	switch e.Route.Perm {
	case PermManageGuild:
		if !canManageGuild(e) {
			return "You need the Manage Server permission to use this."
		}
	case PermOwners:
		if !r.owners[e.User()] {
			return "Only the bot's owners can use this."
		}
	}
	return ""
}
