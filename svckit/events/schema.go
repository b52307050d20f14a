package events

import (
	"embed"

	"github.com/caddysocial/platform/svckit/pgstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations are the outbox and processed-events tables; a store adds them
// to its own schema with pgstore.Store.Also(Migrations, VersionTable).
var Migrations = pgstore.Sub(migrations, "migrations")

// VersionTable records the events schema version, apart from the service's.
const VersionTable = "public.events_schema_version"
