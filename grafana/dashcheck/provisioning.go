package dashcheck

import (
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

// A Datasource is one entry of the data sources' provisioning file, with
// the links between them that the checks follow.
type Datasource struct {
	Name string `yaml:"name"`
	UID  string `yaml:"uid"`
	Type string `yaml:"type"`
	URL  string `yaml:"url"`
	JSON struct {
		// Prometheus: exemplar label -> tracing data source.
		ExemplarTraceIDDestinations []struct {
			Name          string `yaml:"name"`
			DatasourceUID string `yaml:"datasourceUid"`
		} `yaml:"exemplarTraceIdDestinations"`
		// VictoriaLogs: log field -> tracing data source.
		DerivedFields []struct {
			Name          string `yaml:"name"`
			MatcherType   string `yaml:"matcherType"`
			MatcherRegex  string `yaml:"matcherRegex"`
			DatasourceUID string `yaml:"datasourceUid"`
		} `yaml:"derivedFields"`
		// Jaeger: trace -> logs.
		TracesToLogs *struct {
			DatasourceUID string `yaml:"datasourceUid"`
			Query         string `yaml:"query"`
		} `yaml:"tracesToLogsV2"`
	} `yaml:"jsonData"`
}

// LoadDatasources reads a data sources provisioning file.
func LoadDatasources(path string) (map[string]Datasource, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f struct {
		APIVersion  int          `yaml:"apiVersion"`
		Datasources []Datasource `yaml:"datasources"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.APIVersion != 1 {
		return nil, fmt.Errorf("%s: apiVersion %d, want 1", path, f.APIVersion)
	}
	out := map[string]Datasource{}
	for _, d := range f.Datasources {
		if d.UID == "" {
			return nil, fmt.Errorf("%s: data source %q has no uid", path, d.Name)
		}
		if _, dup := out[d.UID]; dup {
			return nil, fmt.Errorf("%s: uid %q twice", path, d.UID)
		}
		out[d.UID] = d
	}
	return out, nil
}
