"""Identity resolution engine (Fellegi–Sunter with Chinese comparators); see docs/matching.md."""
from screenfuse.matching.engine import DedupeResult, Population, dedupe
from screenfuse.matching.model import Model
from screenfuse.matching.settings import MatchSettings, SettingsError, load_settings_file, preset

__all__ = ["DedupeResult", "MatchSettings", "Model", "Population", "SettingsError", "dedupe", "load_settings_file", "preset"]
