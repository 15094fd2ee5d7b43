//! Path filters on controller-style POSIX paths: `basename`, `dirname`,
//! `expanduser`, `realpath`, `relpath`, `splitext`, `path_join`.

use std::path::{Component, Path, PathBuf};

use super::add_filter;
use crate::modules::files::normpath;
use minijinja::value::Value as MjValue;
use minijinja::{Environment, Error};

use super::{items, py_str};

pub(super) fn register(env: &mut Environment<'static>) {
    add_filter(env, "basename", |v: &MjValue| {
        Ok::<_, Error>(basename(&py_str(v)?))
    });
    add_filter(env, "dirname", |v: &MjValue| {
        Ok::<_, Error>(dirname(&py_str(v)?))
    });
    add_filter(env, "expanduser", |v: &MjValue| {
        Ok::<_, Error>(expanduser(&py_str(v)?))
    });
    add_filter(env, "realpath", |v: &MjValue| {
        let p = py_str(v)?;
        Ok::<_, Error>(
            std::fs::canonicalize(&p)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_else(|_| normpath(&absolute(&p))),
        )
    });
    add_filter(env, "relpath", |v: &MjValue, start: Option<String>| {
        Ok::<_, Error>(relpath(&py_str(v)?, start.as_deref()))
    });
    add_filter(env, "splitext", |v: &MjValue| {
        let (a, b) = splitext(&py_str(v)?);
        Ok::<_, Error>(MjValue::from(vec![MjValue::from(a), MjValue::from(b)]))
    });
    add_filter(env, "path_join", |v: &MjValue| {
        let parts = if v.as_str().is_some() {
            vec![py_str(v)?]
        } else {
            items(v, "path_join")?
                .iter()
                .map(py_str)
                .collect::<Result<_, _>>()?
        };
        Ok::<_, Error>(path_join(&parts))
    });
}

/// Python's `os.path.basename`: everything after the last `/`.
pub(crate) fn basename(p: &str) -> String {
    p.rsplit('/').next().unwrap_or("").to_string()
}

/// Python's `os.path.dirname`: everything before the last `/`, trailing slashes
/// stripped unless it is all slashes.
pub(crate) fn dirname(p: &str) -> String {
    match p.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &p[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

fn expanduser(p: &str) -> String {
    if (p == "~" || p.starts_with("~/"))
        && let Some(home) = std::env::var_os("HOME")
    {
        return format!("{}{}", home.to_string_lossy(), &p[1..]);
    }
    p.to_string()
}

fn absolute(p: &str) -> String {
    if p.starts_with('/') {
        return p.to_string();
    }
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    format!("{}/{p}", cwd.display())
}

fn relpath(p: &str, start: Option<&str>) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let target = normpath(&absolute(p));
    let start = normpath(&absolute(start.unwrap_or(&cwd.to_string_lossy())));
    let t: Vec<Component> = Path::new(&target).components().collect();
    let s: Vec<Component> = Path::new(&start).components().collect();
    let common = t.iter().zip(&s).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); s.len() - common];
    parts.extend(
        t[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

/// Python's `os.path.splitext`: leading dots of the basename do not start an extension.
fn splitext(p: &str) -> (String, String) {
    let base_start = p.rfind('/').map_or(0, |i| i + 1);
    let base = &p[base_start..];
    let stripped = base.trim_start_matches('.');
    let lead = base.len() - stripped.len();
    match stripped.rfind('.') {
        Some(i) => {
            let cut = base_start + lead + i;
            (p[..cut].to_string(), p[cut..].to_string())
        }
        None => (p.to_string(), String::new()),
    }
}

/// Python's `os.path.join`: an absolute part restarts the path.
fn path_join(parts: &[String]) -> String {
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') || out.is_empty() {
            out = part.clone();
        } else {
            if !out.ends_with('/') {
                out.push('/');
            }
            out.push_str(part);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // ansible localhost -m debug -a "msg={{ '/a/b.txt' | basename }} ..." (2.19)
    #[test]
    fn paths_like_python() {
        assert_eq!(basename("/a/b.txt"), "b.txt");
        assert_eq!(dirname("/a/b.txt"), "/a");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(
            splitext("a/b.tar.gz"),
            ("a/b.tar".to_string(), ".gz".to_string())
        );
        assert_eq!(splitext(".bashrc"), (".bashrc".to_string(), String::new()));
        assert_eq!(path_join(&["a".into(), "b".into(), "/c".into()]), "/c");
        assert_eq!(relpath("/a/b", Some("/a")), "b");
        assert_eq!(relpath("/a", Some("/a/b/c")), "../..");
        assert_eq!(normpath("/a/./b/../c"), "/a/c");
    }
}
