//! `stat`: facts about a path, under `stat`: `exists` (false, and nothing else, when
//! the path is missing), `path`, `mode` ("0644"), `isdir/isreg/islnk/isblk/ischr/
//! isfifo/issock`, `size`, `uid`, `gid`, `pw_name`, `gr_name`, `mtime/atime/ctime`,
//! `inode`, `dev`, `nlink`, the permission bits (`rusr`…`xoth`, `isuid`, `isgid`),
//! `readable/writeable/executable` for the connecting user, `lnk_source` (the
//! resolved path) and `lnk_target` (as written) for a link, and `checksum` of a
//! regular file (`checksum_algorithm`, sha1 by default). `follow` stats what a link
//! points to.
//!
//! Not supported: `get_mime` (no `mimetype`/`charset`), `get_attributes` (no
//! `attributes`/`attr_flags`/`version`), `blocks`, `block_size`, `device_type`.

use crate::connection::FileKind;
use crate::modules::files::{digest, expand_user, stat_keys};
use crate::modules::{
    ArgSpec, Args, Kind, Module, ModuleContext, ModuleError, ModuleResult, Param,
};
use crate::value::{Map, Value};

pub struct Stat;

static SPEC: ArgSpec = ArgSpec::new(&[
    Param::new("path", Kind::Path)
        .required()
        .aliases(&["dest", "name"]),
    Param::new("follow", Kind::Bool).default("no"),
    Param::new("get_checksum", Kind::Bool).default("yes"),
    Param::new("checksum_algorithm", Kind::Str)
        .aliases(&["checksum", "checksum_algo"])
        .default("sha1")
        .choices(&["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]),
    Param::new("get_mime", Kind::Bool)
        .aliases(&["mime", "mime_type", "mime-type"])
        .default("yes"),
    Param::new("get_attributes", Kind::Bool)
        .aliases(&["attr", "attributes"])
        .default("yes"),
]);

impl Module for Stat {
    fn name(&self) -> &'static str {
        "stat"
    }

    fn spec(&self) -> &'static ArgSpec {
        &SPEC
    }

    fn run(&self, args: &Args, ctx: &mut ModuleContext<'_>) -> Result<ModuleResult, ModuleError> {
        let path = expand_user(ctx.conn, args.str("path").unwrap_or(""))?;
        let Some(st) = ctx.conn.stat(&path, args.bool("follow"))? else {
            let mut missing = Map::new();
            missing.insert("exists".into(), false.into());
            return Ok(ModuleResult::ok().with("stat", missing));
        };
        let mut s = Map::new();
        s.insert("exists".into(), true.into());
        s.insert("path".into(), path.clone().into());
        s.extend(stat_keys(&st));
        let mut put = |k: &str, v: Value| {
            s.insert(k.to_string(), v);
        };
        let access = ctx.conn.access(&path)?;
        put("readable", access.readable.into());
        put("writeable", access.writeable.into());
        put("executable", access.executable.into());
        if let Some(target) = &st.link_target {
            put("lnk_target", target.clone().into());
            let source = access.resolved.clone().unwrap_or_else(|| path.clone());
            put("lnk_source", source.into());
        }
        if st.kind == FileKind::File && access.readable && args.bool("get_checksum") {
            let data = ctx.conn.read_file(&path)?;
            let algorithm = args.str("checksum_algorithm").unwrap_or("sha1");
            put("checksum", digest(algorithm, &data).into());
        }
        Ok(ModuleResult::ok().with("stat", s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::Harness;
    use serde_json::json;

    #[test]
    fn a_regular_file() {
        let mut h = Harness::new();
        let p = h.write("f", "hello\n");
        let r = h.run(&Stat, json!({"path": p}));
        assert!(!r.changed);
        let s = &r.data["stat"];
        assert_eq!(s["exists"], json!(true));
        assert_eq!(s["isreg"], json!(true));
        assert_eq!(s["isdir"], json!(false));
        assert_eq!(s["size"], json!(6));
        assert_eq!(
            s["checksum"],
            json!("f572d396fae9206628714fb2ce00f72e94f2258f")
        );
        assert_eq!(s["readable"], json!(true));
        assert_eq!(s["path"], json!(p));
        assert_eq!(s["mode"].as_str().unwrap().len(), 4);
        let r = h.run(&Stat, json!({"path": p, "checksum_algorithm": "sha256"}));
        assert_eq!(
            r.data["stat"]["checksum"],
            json!("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        let r = h.run(&Stat, json!({"path": p, "get_checksum": false}));
        assert!(r.data["stat"].get("checksum").is_none());
    }

    #[test]
    fn a_link_and_following_it() {
        let mut h = Harness::new();
        let dir = h.path("");
        let link = h.path("l");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let s = h.run(&Stat, json!({"path": link})).data["stat"].clone();
        assert_eq!(s["islnk"], json!(true));
        assert_eq!(s["lnk_target"], json!(dir));
        let canonical = std::fs::canonicalize(&dir).unwrap();
        assert_eq!(s["lnk_source"], json!(canonical.to_string_lossy()));
        let s = h.run(&Stat, json!({"path": link, "follow": true})).data["stat"].clone();
        assert_eq!(
            (s["islnk"].clone(), s["isdir"].clone()),
            (json!(false), json!(true))
        );
    }

    #[test]
    fn missing_is_exists_false_only() {
        let mut h = Harness::new();
        let r = h.run(&Stat, json!({"path": h.path("nope")}));
        assert_eq!(r.data["stat"], json!({"exists": false}));
        assert!(
            h.try_run(&Stat, json!({}))
                .unwrap_err()
                .contains("missing required arguments: path")
        );
    }
}
