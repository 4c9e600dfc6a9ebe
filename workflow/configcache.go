package workflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path"

	"github.com/oxygen-tools/oxygen/internal/safefs"
)

// Parsing the YAML config is the slowest step of a command's start-up, so
// the validated result is kept in the state directory as JSON. The key
// covers the config's bytes, the embedded defaults and the binary itself, so
// an edited config or an upgraded tool never reads a stale copy. The cache is
// derived data: deleting it is always safe.
const configCacheFile = "config-cache.json"

type configCache struct {
	Key    string  `json:"key"`
	Config *Config `json:"config"`
}

func configCacheKey(src []byte) string {
	h := sha256.New()
	h.Write(src)
	h.Write(defaultConfigYAML)
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(h, "\n%s %d %d", exe, fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func readConfigCache(root, key string) *Config {
	r, err := safefs.Open(root)
	if err != nil {
		return nil
	}
	defer r.Close()
	data, err := r.ReadFile(path.Join(StateDir, configCacheFile), maxConfigBytes)
	if err != nil {
		return nil
	}
	var cache configCache
	if err := json.Unmarshal(data, &cache); err != nil || cache.Key != key || cache.Config == nil {
		return nil
	}
	if err := cache.Config.compile(); err != nil {
		return nil
	}
	if cache.Config.Agents == nil {
		cache.Config.Agents = map[string]string{}
	}
	return cache.Config
}

// writeConfigCache replaces the cache atomically, never through a symlink
// leading out of root; failing to write it only costs the next command a
// parse.
func writeConfigCache(root, key string, c *Config) {
	data, err := json.Marshal(configCache{Key: key, Config: c})
	if err != nil {
		return
	}
	r, err := safefs.Open(root)
	if err != nil {
		return
	}
	defer r.Close()
	r.WriteAtomic(path.Join(StateDir, configCacheFile), data, 0o644, tempTag(os.Getpid()))
}
