//! The host's account databases as `user` and `group` read them: `getent passwd`,
//! `getent group` and `getent shadow` (through NSS, as Python's `pwd`/`grp` do).

use crate::connection::Connection;
use crate::modules::remote;

/// A `passwd` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Passwd {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
}

/// A `group` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// `getent DB KEY` lines; none when the key is unknown (exit 2).
fn getent(conn: &mut dyn Connection, db: &str, key: Option<&str>) -> Result<Vec<String>, String> {
    let mut argv = vec!["getent", db];
    argv.extend(key);
    let ran = remote::run(conn, &argv)?;
    match ran.rc {
        0 => Ok(ran.stdout.lines().map(str::to_string).collect()),
        2 => Ok(Vec::new()),
        127 => Err("getent is not installed on the host: it is needed to read accounts".into()),
        rc => Err(format!("getent {db} failed (rc={rc}): {}", ran.message())),
    }
}

pub fn passwd(conn: &mut dyn Connection, name: &str) -> Result<Option<Passwd>, String> {
    let lines = getent(conn, "passwd", Some(name))?;
    Ok(lines.first().and_then(|line| {
        let f: Vec<&str> = line.split(':').collect();
        (f.len() >= 7).then(|| Passwd {
            name: f[0].to_string(),
            uid: f[2].parse().unwrap_or(0),
            gid: f[3].parse().unwrap_or(0),
            gecos: f[4].to_string(),
            home: f[5].to_string(),
            shell: f[6].to_string(),
        })
    }))
}

fn parse_group(line: &str) -> Option<Group> {
    let f: Vec<&str> = line.split(':').collect();
    (f.len() >= 4).then(|| Group {
        name: f[0].to_string(),
        gid: f[2].parse().unwrap_or(0),
        members: f[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// A group by name or number.
pub fn group(conn: &mut dyn Connection, name_or_gid: &str) -> Result<Option<Group>, String> {
    Ok(getent(conn, "group", Some(name_or_gid))?
        .first()
        .and_then(|l| parse_group(l)))
}

pub fn all_groups(conn: &mut dyn Connection) -> Result<Vec<Group>, String> {
    Ok(getent(conn, "group", None)?
        .iter()
        .filter_map(|l| parse_group(l))
        .collect())
}

/// The password hash, when the connecting user may read it (root).
pub fn password_hash(conn: &mut dyn Connection, name: &str) -> Result<Option<String>, String> {
    let ran = remote::run(conn, &["getent", "shadow", name])?;
    Ok(ran
        .ok()
        .then(|| ran.stdout.split(':').nth(1).map(str::to_string))
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::testing::FakeConnection;

    #[test]
    fn entries_parse_and_unknown_keys_are_none() {
        let mut conn = FakeConnection::new()
            .on(
                "^getent passwd bob",
                0,
                "bob:x:1001:1001:Bob B:/home/bob:/bin/sh\n",
            )
            .on("^getent passwd", 2, "")
            .on("^getent group$", 0, "adm:x:4:syslog,bob\nbob:x:1001:\n");
        let bob = passwd(&mut conn, "bob").unwrap().unwrap();
        assert_eq!(
            (bob.uid, bob.gecos.as_str(), bob.shell.as_str()),
            (1001, "Bob B", "/bin/sh")
        );
        assert_eq!(passwd(&mut conn, "eve").unwrap(), None);
        let groups = all_groups(&mut conn).unwrap();
        assert_eq!(groups[0].members, ["syslog", "bob"]);
        assert!(groups[1].members.is_empty());
    }
}
