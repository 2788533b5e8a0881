//! The Debian package (`deploy/build-deb.sh`), built from the binary under test: its control
//! data, files and modes, the conffile, maintainer scripts that parse and start nothing on a
//! first install, and a packaged binary that accepts the packaged example config. `lintian`
//! runs too when it is installed (CI does not install it).

use std::path::Path;
use std::process::Command;

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_debian_package_holds_the_service() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let deb = run(Command::new(root.join("deploy/build-deb.sh"))
        .arg(env!("CARGO_BIN_EXE_clerk"))
        .arg(dir.path())
        // The test checks the layout, not dpkg-deb's compression, which costs seconds.
        .env("CLERK_DEB_COMPRESSION", "none"));
    let deb = deb.trim();
    assert!(deb.ends_with(".deb") && Path::new(deb).exists(), "{deb}");

    let info = run(Command::new("dpkg-deb").args(["--info", deb]));
    for field in [
        "Package: clerk",
        &format!("Version: {}", env!("CARGO_PKG_VERSION")),
        "Depends: libc6 (>= 2.",
        "Section: mail",
    ] {
        assert!(info.contains(field), "no {field:?} in:\n{info}");
    }

    // Path -> mode and owner, from the archive's own listing.
    let contents = run(Command::new("dpkg-deb").args(["--contents", deb]));
    let entry = |path: &str| {
        contents
            .lines()
            .find(|l| l.ends_with(&format!(" ./{path}")))
            .unwrap_or_else(|| panic!("{path} not in the package:\n{contents}"))
            .to_string()
    };
    for (path, mode) in [
        ("usr/bin/clerk", "-rwxr-xr-x root/root"),
        ("lib/systemd/system/clerk.service", "-rw-r--r-- root/root"),
        ("etc/clerk/clerk.toml", "-rw-r--r-- root/root"),
        ("etc/clerk/credentials/", "drwx------ root/root"),
        ("usr/share/doc/clerk/copyright", "-rw-r--r-- root/root"),
        ("usr/share/doc/clerk/README.md", "-rw-r--r-- root/root"),
        (
            "usr/share/doc/clerk/changelog.Debian.gz",
            "-rw-r--r-- root/root",
        ),
    ] {
        let line = entry(path);
        assert!(line.starts_with(mode), "{path}: {line}");
    }

    let control = dir.path().join("control");
    run(Command::new("dpkg-deb")
        .arg("--control")
        .arg(deb)
        .arg(&control));
    assert_eq!(
        std::fs::read_to_string(control.join("conffiles")).unwrap(),
        "/etc/clerk/clerk.toml\n"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let path = control.join(script);
        let mode = std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o755, "{script}");
        run(Command::new("sh").arg("-n").arg(&path));
    }
    let postinst = std::fs::read_to_string(control.join("postinst")).unwrap();
    assert!(postinst.contains("daemon-reload"), "{postinst}");
    assert!(
        !postinst.contains("enable") && !postinst.contains("systemctl start"),
        "a first install must not start the unconfigured service:\n{postinst}"
    );
    assert!(
        std::fs::read_to_string(control.join("md5sums"))
            .unwrap()
            .contains("usr/bin/clerk"),
    );

    let tree = dir.path().join("tree");
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&tree));
    let unit = std::fs::read_to_string(tree.join("lib/systemd/system/clerk.service")).unwrap();
    assert!(
        unit.contains("ExecStart=/usr/bin/clerk --config /etc/clerk/clerk.toml run"),
        "{unit}"
    );
    assert!(!unit.contains("/usr/local/bin"), "{unit}");
    // The packaged unit verifies as deploy/clerk.service does (ExecStart must exist, so it
    // points at the extracted binary here).
    let verify = dir.path().join("clerk.service");
    let packaged_binary = tree.join("usr/bin/clerk");
    std::fs::write(
        &verify,
        unit.replace("/usr/bin/clerk", &packaged_binary.display().to_string()),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&verify)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(tree.join("etc/clerk/clerk.toml")).unwrap(),
        clerk::config::EXAMPLE
    );
    // The packaged binary runs and accepts the packaged config, with the passwords as the
    // unit's credentials.
    let credentials = dir.path().join("credentials");
    std::fs::create_dir(&credentials).unwrap();
    for name in ["imap-password", "smtp-password"] {
        std::fs::write(credentials.join(name), "secret\n").unwrap();
    }
    let checked = run(Command::new(tree.join("usr/bin/clerk"))
        .arg("--config")
        .arg(tree.join("etc/clerk/clerk.toml"))
        .arg("check-config")
        .env("CREDENTIALS_DIRECTORY", &credentials));
    assert!(checked.contains("configuration is valid"), "{checked}");

    if Command::new("lintian").arg("--version").output().is_ok() {
        let out = Command::new("lintian")
            .args(["--no-tag-display-limit", "--fail-on", "error", deb])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "lintian: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
