package commands

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"github.com/viggle-bot/viggle-bot/explain"
	"github.com/viggle-bot/viggle-bot/viggle"
)

// CmdCredits is /credits.
const CmdCredits = "credits"

// creditsRoutes is /credits: the credit balance of the Viggle key the server uses, only for members with
// Manage Server (the command's default permission, checked again by the router: server admins can
// override a default permission).
func (r *Router) creditsRoutes() []Route {
	guildOnly := []discordgo.InteractionContextType{discordgo.InteractionContextGuild}
	manage := int64(discordgo.PermissionManageGuild)
	return []Route{{
		Name: CmdCredits,
		Def: &discordgo.ApplicationCommand{
			Name:                     CmdCredits,
			Description:              "The Viggle credits left on the account of the key this server uses (only you see it)",
			Contexts:                 &guildOnly,
			DefaultMemberPermissions: &manage,
		},
		Handle: r.creditsBalance,
		Perm:   PermManageGuild,
		Defer:  DeferEphemeral,
	}}
}

// creditsBalance answers GET /api/credits with the key the server's renders use, privately.
func (r *Router) creditsBalance(ctx context.Context, e *Event) (*Response, error) {
	ref, cr, refusal, err := r.keyOrRefusal(ctx, e)
	if refusal != nil || err != nil {
		return refusal, err
	}
	if cr == nil {
		return ephemeralText(notAvailable), nil
	}
	whose := "The bot's Viggle account"
	if ref != "" {
		whose = "This server's Viggle account (its own key, /config key)"
	}
	b, err := cr.Credits(ctx)
	if err != nil {
		e.SetOutcome("viggle error")
		r.log.Warn("credit balance not read", "err", err)
		var api *viggle.APIError
		if ref != "" && errors.As(err, &api) && (api.HTTPStatus == http.StatusUnauthorized || api.HTTPStatus == http.StatusForbidden) {
			return ephemeralText(fmt.Sprintf("Viggle refused this server's key%s: it may have been revoked. An admin can set a new one with /config key set.", codeNote(api.Code))), nil
		}
		return ephemeralText(explain.ViggleError(explain.OpCredits, err)), nil
	}
	text := fmt.Sprintf("%s has **%s** left.", whose, creditAmount(b.Balance))
	if b.TotalUsed > 0 || b.TotalPurchased > 0 {
		text += fmt.Sprintf(" Used so far: %s of %s bought.", creditAmount(b.TotalUsed), creditAmount(b.TotalPurchased))
	}
	text += "\nA render uses about one credit per second of video, twice that with fast: /scene list shows each scene's cost."
	return ephemeralText(text), nil
}

// creditAmount is "1 credit", "250 credits" or "12.5 credits".
func creditAmount(n float64) string {
	if n == math.Trunc(n) && math.Abs(n) < 1e15 {
		return creditsText(int(n))
	}
	return strconv.FormatFloat(n, 'f', -1, 64) + " credits"
}
