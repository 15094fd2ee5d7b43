//! Canned release files of the distributions srplay's users run, with the facts
//! ansible-core 2.19 gives for them.

use super::*;

/// Sections as `gather.sh` prints them for these files.
fn host(files: &[(&str, &str)]) -> Sections {
    let mut text = String::new();
    for (path, content) in files {
        text.push_str(&format!("\n@@file {path}\n{content}\n"));
    }
    Sections::parse(&text)
}

fn facts(files: &[(&str, &str)]) -> Map {
    let mut out = Map::new();
    collect(&host(files), &mut out);
    out
}

fn check(f: &Map, expected: &[(&str, &str)]) {
    for (k, v) in expected {
        assert_eq!(f.get(*k).and_then(Value::as_str), Some(*v), "{k} in {f:?}");
    }
}

const CENTOS7: &str = r#"NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
BUG_REPORT_URL="https://bugs.centos.org/"
"#;

#[test]
fn centos_7_takes_the_minor_version_from_its_release_file() {
    let release = "CentOS Linux release 7.9.2009 (Core)";
    let f = facts(&[
        ("/etc/centos-release", release),
        ("/etc/redhat-release", release),
        ("/etc/os-release", CENTOS7),
        ("/etc/system-release", release),
    ]);
    check(
        &f,
        &[
            ("distribution", "CentOS"),
            ("distribution_version", "7.9"),
            ("distribution_major_version", "7"),
            ("distribution_release", "Core"),
            ("distribution_file_path", "/etc/redhat-release"),
            ("distribution_file_variety", "RedHat"),
            ("os_family", "RedHat"),
        ],
    );
}

#[test]
fn rocky_9() {
    let os = r#"NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
LOGO="fedora-logo-icon"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
BUG_REPORT_URL="https://bugs.rockylinux.org/"
SUPPORT_END="2032-05-31"
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.3"
REDHAT_SUPPORT_PRODUCT="Rocky Linux"
REDHAT_SUPPORT_PRODUCT_VERSION="9.3"
"#;
    let release = "Rocky Linux release 9.3 (Blue Onyx)";
    let f = facts(&[
        ("/etc/redhat-release", release),
        ("/etc/os-release", os),
        ("/etc/system-release", release),
    ]);
    check(
        &f,
        &[
            ("distribution", "Rocky"),
            ("distribution_version", "9.3"),
            ("distribution_major_version", "9"),
            ("distribution_release", "Blue Onyx"),
            ("os_family", "RedHat"),
        ],
    );
}

#[test]
fn rhel_is_found_by_its_search_string() {
    let os = "NAME=\"Red Hat Enterprise Linux\"\nVERSION=\"8.9 (Ootpa)\"\nID=\"rhel\"\nVERSION_ID=\"8.9\"\n";
    let f = facts(&[
        (
            "/etc/redhat-release",
            "Red Hat Enterprise Linux release 8.9 (Ootpa)",
        ),
        ("/etc/os-release", os),
    ]);
    check(
        &f,
        &[
            ("distribution", "RedHat"),
            ("distribution_version", "8.9"),
            ("distribution_release", "Ootpa"),
            ("os_family", "RedHat"),
        ],
    );
}

#[test]
fn ubuntu_22_04() {
    let os = r#"PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
"#;
    let f = facts(&[
        ("/etc/os-release", os),
        ("/etc/debian_version", "bookworm/sid"),
        (
            "/etc/lsb-release",
            "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=22.04\nDISTRIB_CODENAME=jammy\n",
        ),
    ]);
    check(
        &f,
        &[
            ("distribution", "Ubuntu"),
            ("distribution_version", "22.04"),
            ("distribution_major_version", "22"),
            ("distribution_release", "jammy"),
            ("distribution_file_path", "/etc/os-release"),
            ("distribution_file_variety", "Debian"),
            ("os_family", "Debian"),
        ],
    );
    assert!(!f.contains_key("distribution_minor_version"));
}

#[test]
fn debian_12_reads_the_point_release_from_debian_version() {
    let os = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"#;
    let f = facts(&[("/etc/os-release", os), ("/etc/debian_version", "12.11")]);
    check(
        &f,
        &[
            ("distribution", "Debian"),
            ("distribution_version", "12.11"),
            ("distribution_major_version", "12"),
            ("distribution_minor_version", "11"),
            ("distribution_release", "bookworm"),
            ("os_family", "Debian"),
        ],
    );
}

#[test]
fn openeuler_is_named_by_its_os_release_name() {
    let os = r#"NAME="openEuler"
VERSION="22.03 (LTS-SP1)"
ID="openEuler"
VERSION_ID="22.03"
PRETTY_NAME="openEuler 22.03 (LTS-SP1)"
ANSI_COLOR="0;31"
"#;
    let f = facts(&[
        ("/etc/os-release", os),
        (
            "/etc/openEuler-release",
            "openEuler release 22.03 (LTS-SP1)",
        ),
    ]);
    check(
        &f,
        &[
            ("distribution", "openEuler"),
            ("distribution_version", "22.03"),
            ("distribution_major_version", "22"),
            ("distribution_release", "NA"),
            ("distribution_file_variety", "NA"),
            ("os_family", "RedHat"),
        ],
    );
}

#[test]
fn kylin_v10() {
    let os = r#"NAME="Kylin Linux Advanced Server"
VERSION="V10 (Lance)"
ID="kylin"
VERSION_ID="V10"
PRETTY_NAME="Kylin Linux Advanced Server V10 (Lance)"
ANSI_COLOR="0;31"
"#;
    let f = facts(&[("/etc/os-release", os)]);
    check(
        &f,
        &[
            ("distribution", "Kylin Linux Advanced Server"),
            ("distribution_version", "V10"),
            ("distribution_major_version", "V10"),
            ("distribution_release", "Lance"),
            ("os_family", "RedHat"),
        ],
    );
}

#[test]
fn alpine_takes_its_version_from_alpine_release() {
    let os =
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n";
    let f = facts(&[("/etc/os-release", os), ("/etc/alpine-release", "3.19.1\n")]);
    check(
        &f,
        &[
            ("distribution", "Alpine"),
            ("distribution_version", "3.19.1"),
            ("distribution_major_version", "3"),
            ("distribution_file_path", "/etc/alpine-release"),
            ("os_family", "Alpine"),
        ],
    );
}

#[test]
fn without_any_release_file_the_distribution_is_other_linux() {
    let f = facts(&[]);
    check(
        &f,
        &[
            ("distribution", "OtherLinux"),
            ("distribution_version", "NA"),
            ("distribution_major_version", "NA"),
            ("distribution_release", "NA"),
            ("os_family", "OtherLinux"),
        ],
    );
}

#[test]
fn release_lines_are_split_like_distro_does() {
    let r = parse_release_line("CentOS Linux release 7.9.2009 (Core)");
    assert_eq!(r["name"], "CentOS Linux");
    assert_eq!(r["version_id"], "7.9.2009");
    assert_eq!(r["codename"], "Core");
}
