//! Derives the core's constants from `plugin.json`, the single source of truth for the plugin's
//! id, version and setting defaults.

use std::{env, fs, path::PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let path = manifest_dir.join("plugin.json");
    println!("cargo:rerun-if-changed={}", path.display());

    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let manifest: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));

    let field = |name: &str| -> String {
        manifest[name]
            .as_str()
            .unwrap_or_else(|| panic!("plugin.json has no string field `{name}`"))
            .to_owned()
    };
    let id = field("id");
    let version = field("version");

    // Setting defaults, as JSON literals, so the core fills in exactly what System Console shows.
    let mut defaults = String::new();
    for setting in manifest["settings_schema"]["settings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = setting["key"].as_str().expect("every setting has a key");
        let default = serde_json::to_string(&setting["default"]).expect("a JSON value serializes");
        let name = setting["display_name"]
            .as_str()
            .unwrap_or(key)
            .trim_end_matches(':');
        defaults.push_str(&format!("    ({key:?}, {name:?}, {default:?}),\n"));
    }

    let out = format!(
        "/// The plugin id, from `plugin.json`.\n\
         pub const PLUGIN_ID: &str = {id:?};\n\
         /// The plugin version, from `plugin.json`.\n\
         pub const PLUGIN_VERSION: &str = {version:?};\n\
         /// Each System Console setting: its key, its display name and its default as a JSON literal.\n\
         pub(crate) const SETTINGS: &[(&str, &str, &str)] = &[\n{defaults}];\n"
    );
    let out_path = PathBuf::from(env::var("OUT_DIR").expect("cargo sets this")).join("manifest.rs");
    fs::write(&out_path, out).unwrap_or_else(|e| panic!("writing {}: {e}", out_path.display()));
}
