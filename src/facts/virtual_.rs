//! The `virtual` collector on Linux (`facts/virtual/linux.py`): containers from pid
//! 1's cgroups and environment, hypervisors from DMI, cpuinfo and kernel modules.
//! The first finding sets `virtualization_type`/`role`; every finding is listed in
//! `virtualization_tech_guest`/`_host`. (dmidecode and lscpu are not consulted.)

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::json;

use super::sections::Sections;
use crate::value::Map;

#[derive(Default)]
struct Findings {
    kind: Option<(String, Option<&'static str>)>,
    guest: BTreeSet<String>,
    host: BTreeSet<String>,
}

impl Findings {
    fn guest(&mut self, tech: &str, role: Option<&'static str>) {
        self.guest.insert(tech.to_string());
        self.kind.get_or_insert_with(|| (tech.to_string(), role));
    }

    fn host(&mut self, tech: &str) {
        self.host.insert(tech.to_string());
        self.kind
            .get_or_insert_with(|| (tech.to_string(), Some("host")));
    }
}

pub fn collect(sec: &Sections, out: &mut Map) {
    let mut f = Findings::default();
    let exists = |p: &str| sec.exists("virt_exists", p);
    let docker = Regex::new(r"/docker(/|-[0-9a-f]+\.scope)").expect("valid regex");
    for line in sec.file("/proc/1/cgroup").unwrap_or_default().lines() {
        if docker.is_match(line) {
            f.guest("docker", Some("guest"));
        }
        if line.contains("/lxc/") || line.contains("/machine.slice/machine-lxc") {
            f.guest("lxc", Some("guest"));
        }
        if line.contains("/system.slice/containerd.service") {
            f.guest("containerd", Some("guest"));
        }
    }
    for line in sec.lines("pid1_environ") {
        if line.contains("container=lxc") {
            f.guest("lxc", Some("guest"));
        }
        if line.contains("container=podman") {
            f.guest("podman", Some("guest"));
        }
        if line.starts_with("container=") && line.len() > "container=".len() {
            f.guest("container", Some("guest"));
        }
    }
    if exists("/proc/vz") && !exists("/proc/lve") {
        if exists("/proc/bc") {
            f.host("openvz");
        } else {
            f.guest("openvz", Some("guest"));
        }
    }
    let systemd_container = sec.file_value("/run/systemd/container");
    if let Some(c) = systemd_container {
        f.guest(c, Some("guest"));
    }
    if exists("/.dockerenv") || exists("/.dockerinit") {
        f.guest("docker", Some("guest"));
    }
    let containers = ["docker", "lxc", "podman", "openvz", "containerd"];
    if containers.iter().any(|c| f.guest.contains(*c)) || systemd_container.is_some() {
        f.guest.insert("container".into());
    }
    if let Some(caps) = sec.file("/proc/xen/capabilities") {
        if caps.contains("control_d") {
            f.host("xen");
        } else {
            f.guest("xen", Some("guest"));
        }
    }
    dmi(sec, &mut f);
    // Linux-VServer: context 0 is the host.
    if let Some(id) = sec.line("vxid", 0).strip_prefix("VxID:").map(str::trim) {
        if id == "0" {
            f.host("linux_vserver");
        } else if id.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() {
            f.guest("linux_vserver", Some("guest"));
        }
    }
    cpuinfo(sec.file("/proc/cpuinfo").unwrap_or_default(), &mut f);
    let modules: Vec<&str> = sec
        .file("/proc/modules")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').next())
        .collect();
    if modules.contains(&"kvm") {
        f.host("kvm");
    }
    if modules.contains(&"vboxdrv") {
        f.host("virtualbox");
    }
    if modules.contains(&"virtio") {
        f.host.insert("kvm".into());
        f.kind.get_or_insert_with(|| ("kvm".into(), Some("guest")));
    }
    if exists("/dev/kvm") {
        f.host("kvm");
    }
    let (kind, role) = f
        .kind
        .map_or(("NA".to_string(), Some("NA")), |(k, r)| (k, r));
    out.insert("virtualization_type".into(), json!(kind));
    if let Some(role) = role {
        out.insert("virtualization_role".into(), json!(role));
    }
    out.insert("virtualization_tech_guest".into(), json!(f.guest));
    out.insert("virtualization_tech_host".into(), json!(f.host));
}

/// Hypervisors known by their DMI product, vendor or BIOS.
fn dmi(sec: &Sections, f: &mut Findings) {
    let read = |n: &str| {
        sec.file_value(&format!("/sys/devices/virtual/dmi/id/{n}"))
            .unwrap_or_default()
    };
    let (product, vendor, family, bios) = (
        read("product_name"),
        read("sys_vendor"),
        read("product_family"),
        read("bios_vendor"),
    );
    // Without a container finding, a hypervisor found here is a guest one.
    let role = Some("guest");
    if [
        "KVM",
        "KVM Server",
        "Bochs",
        "AHV",
        "CloudStack KVM Hypervisor",
    ]
    .contains(&product)
    {
        f.guest("kvm", role);
    }
    if vendor == "oVirt" {
        f.guest("oVirt", role);
    }
    if vendor == "Red Hat" && family == "RHV" {
        f.guest("RHV", role);
    } else if vendor == "Red Hat" && product == "RHEV Hypervisor" {
        f.guest("RHEV", role);
    }
    if product.starts_with("VMware") {
        f.guest("VMware", role);
    }
    if ["OpenStack Compute", "OpenStack Nova"].contains(&product) {
        f.guest("openstack", role);
    }
    match bios {
        "Xen" => f.guest("xen", role),
        "innotek GmbH" => f.guest("virtualbox", role),
        "Amazon EC2" | "DigitalOcean" | "Hetzner" | "Linode" => f.guest("kvm", role),
        _ => {}
    }
    let kvm_vendors = [
        "QEMU",
        "Amazon EC2",
        "DigitalOcean",
        "Google",
        "Scaleway",
        "Nutanix",
    ];
    if kvm_vendors.contains(&vendor) {
        f.guest("kvm", role);
    }
    match vendor {
        "KubeVirt" => f.guest("KubeVirt", role),
        "Microsoft Corporation" => f.guest("VirtualPC", role),
        "Parallels Software International Inc." => f.guest("parallels", role),
        "OpenStack Foundation" => f.guest("openstack", role),
        _ => {}
    }
}

fn cpuinfo(text: &str, f: &mut Findings) {
    for line in text.lines() {
        if line.starts_with("model name") && line.contains("QEMU Virtual CPU") {
            f.guest("kvm", Some("guest"));
        } else if line.starts_with("vendor_id") && line.contains("User Mode Linux")
            || line.starts_with("model name") && line.contains("UML")
        {
            f.guest("uml", Some("guest"));
        } else if line.starts_with("vendor_id") && line.contains("PowerVM Lx86") {
            f.guest("powervm_lx86", Some("guest"));
        } else if line.starts_with("vendor_id") && line.contains("IBM/S390") {
            f.guest("ibm_systemz", Some("LPAR"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_on_a_kvm_host() {
        let sec = Sections::parse(
            "\n@@file /proc/1/cgroup\n9:name=systemd:/\n@@virt_exists\n/.dockerenv\n/dev/kvm\n",
        );
        let mut out = Map::new();
        collect(&sec, &mut out);
        assert_eq!(out["virtualization_type"], json!("docker"));
        assert_eq!(out["virtualization_role"], json!("guest"));
        assert_eq!(
            out["virtualization_tech_guest"],
            json!(["container", "docker"])
        );
        assert_eq!(out["virtualization_tech_host"], json!(["kvm"]));
    }

    #[test]
    fn a_kvm_guest_is_known_by_its_dmi_vendor() {
        let sec = Sections::parse("\n@@file /sys/devices/virtual/dmi/id/sys_vendor\nQEMU\n");
        let mut out = Map::new();
        collect(&sec, &mut out);
        assert_eq!(out["virtualization_type"], json!("kvm"));
        assert_eq!(out["virtualization_role"], json!("guest"));
    }

    #[test]
    fn bare_metal_is_na() {
        let mut out = Map::new();
        collect(&Sections::default(), &mut out);
        assert_eq!(out["virtualization_type"], json!("NA"));
        assert_eq!(out["virtualization_role"], json!("NA"));
    }
}
