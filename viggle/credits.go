package viggle

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Balance is the credit balance of the key in use (GET /api/credits; viggle-api.md §8, third-party, unverified).
type Balance struct {
	Balance        float64 `json:"balance"` // balance, else credits
	TotalPurchased float64 `json:"total_purchased,omitempty"`
	TotalUsed      float64 `json:"total_used,omitempty"`
	UpdatedAt      string  `json:"updated_at,omitempty"`
}

// UnmarshalJSON decodes tolerantly: the balance is balance, else credits (a number or a numeric string); an
// answer with neither is an error, as is a body that is not a JSON object.
func (b *Balance) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	if m == nil {
		return errors.New("balance is null")
	}
	raw, ok := m["balance"]
	if !hasNumber(raw) {
		raw, ok = m["credits"], hasNumber(m["credits"])
	}
	if !ok {
		return errors.New("no balance in the answer")
	}
	*b = Balance{
		Balance:        jsonNumber(raw),
		TotalPurchased: jsonNumber(m["total_purchased"]),
		TotalUsed:      jsonNumber(m["total_used"]),
		UpdatedAt:      jsonString(m["updated_at"]),
	}
	return nil
}

// hasNumber reports whether v is a JSON number or a numeric string (null is not).
func hasNumber(v json.RawMessage) bool {
	if len(v) == 0 || string(v) == "null" {
		return false
	}
	var f float64
	if json.Unmarshal(v, &f) == nil {
		return true
	}
	_, err := strconv.ParseFloat(strings.TrimSpace(jsonString(v)), 64)
	return err == nil
}

// Credits returns the credit balance of the key in use (GET /api/credits), retrying per the retry policy.
func (c *Client) Credits(ctx context.Context) (*Balance, error) {
	var b Balance
	if err := c.get(ctx, "get credits", "/api/credits", &b, "balance", "credits"); err != nil {
		return nil, err
	}
	return &b, nil
}
