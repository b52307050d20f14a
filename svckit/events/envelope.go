package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Subjects of the event catalogue (docs/EVENTS.md). The subject is the
// event type.
const (
	AccountDeleted = "accounts.deleted"
	ProfileUpdated = "profiles.updated"
	PostCreated    = "posts.created"
)

// Envelope is what every event looks like on the wire.
type Envelope struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Version    int             `json:"version"`
	OccurredAt time.Time       `json:"occurred_at"`
	Data       json.RawMessage `json:"data"`
}

// AccountDeletedData is accounts.deleted version 1.
type AccountDeletedData struct {
	UserUUID string `json:"user_uuid"`
}

// ProfileUpdatedData is profiles.updated version 1.
type ProfileUpdatedData struct {
	UUID     string `json:"uuid"`
	Username string `json:"username"`
}

// PostCreatedData is posts.created version 1: the post as the API shows it.
type PostCreatedData struct {
	AuthorUUID string `json:"author_uuid"`
	Content    string `json:"content"`
	Timestamp  string `json:"timestamp"`
}

// New wraps data (marshalled to JSON) in an envelope with a fresh id.
func New(typ string, version int, data any) (Envelope, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("event %s: marshal data: %w", typ, err)
	}
	return Envelope{ID: uuid.NewString(), Type: typ, Version: version, OccurredAt: time.Now().UTC(), Data: raw}, nil
}

// Decode parses an envelope and checks the fields every consumer relies on.
func Decode(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("envelope: %w", err)
	}
	if _, err := uuid.Parse(e.ID); err != nil {
		return Envelope{}, errors.New("envelope: id is not a UUID")
	}
	if e.Type == "" || e.Version < 1 || len(e.Data) == 0 {
		return Envelope{}, errors.New("envelope: type, version and data are required")
	}
	return e, nil
}

// DataAs decodes the envelope's data into v.
func (e Envelope) DataAs(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("event %s %s: data: %w", e.Type, e.ID, err)
	}
	return nil
}

// DeletedUser is the user UUID of an accounts.deleted event, validated.
func DeletedUser(e Envelope) (string, error) {
	var d AccountDeletedData
	if err := e.DataAs(&d); err != nil {
		return "", err
	}
	id, err := uuid.Parse(d.UserUUID)
	if err != nil {
		return "", fmt.Errorf("event %s %s: user_uuid is not a UUID", e.Type, e.ID)
	}
	return id.String(), nil
}
