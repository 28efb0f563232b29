package commands

import (
	"testing"

	"github.com/viggle-bot/viggle-bot/internal/viggletest"
)

func TestCreditsForManagersOnly(t *testing.T) {
	e := newViggleEnv(t)
	// The testdata member has no Manage Server: refused, and Viggle is not asked.
	wantEphemeral(t, e.run(t, nil, interaction(t, "credits", nil)), "You need the Manage Server permission")
	wantEphemeral(t, e.run(t, nil, interaction(t, "credits", permissions("32"))), "has **750 credits** left")
	e.fake.SetCredits(1)
	wantEphemeral(t, e.run(t, nil, interaction(t, "credits", permissions("8"))), "has **1 credit** left") // Administrator

	def := e.r.commands[CmdCredits].Def
	if def.DefaultMemberPermissions == nil || *def.DefaultMemberPermissions != 32 {
		t.Errorf("default permission %v, want Manage Server", def.DefaultMemberPermissions)
	}
}

func TestCreditsViggleErrorInPlainWords(t *testing.T) {
	e := newViggleEnv(t)
	vc, err := viggleClientFor(t, "http://127.0.0.1:1") // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	e.r, e.logs = testRouter(t, e.eng, &Catalogued{DB: e.db, Credits: vc}, nil, nil)
	wantEphemeral(t, e.run(t, nil, interaction(t, "credits", permissions("32"))), "Viggle did not answer, so I could not read the credit balance")

	// Refused (another key): the code kept, what to do said.
	other := viggletest.New(viggletest.WithAPIKey("another-key-0123456789"))
	u, stop, err := other.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if vc, err = viggleClientFor(t, u); err != nil {
		t.Fatal(err)
	}
	e.r, e.logs = testRouter(t, e.eng, &Catalogued{DB: e.db, Credits: vc}, nil, nil)
	wantEphemeral(t, e.run(t, nil, interaction(t, "credits", permissions("32"))), "Viggle refused to read the credit balance (error `CS-")
	wantEphemeral(t, e.run(t, nil, interaction(t, "credits", permissions("32"))), "VIGGLE_API_KEY")
}
