import Foundation

/// A real OpenSSH sshd on 127.0.0.1 with a generated host key, reading the authorized_keys that
/// `mirrordeck access` manages. The test process's user is the service account.
struct SSHD {
    let port: Int
    let authorizedKeys: String
    let dir: String

    static func start(env: TestEnv) throws -> SSHD {
        let dir = env.path("sshd")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try Shell.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir + "/host_key"])
        let keys = dir + "/authorized_keys"
        for _ in 0..<5 {
            let port = Net.freePort()
            let config = """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir)/host_key
            PidFile \(dir)/sshd.pid
            AuthorizedKeysFile \(keys)
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password
            AllowTcpForwarding no
            X11Forwarding no
            LogLevel ERROR
            """
            try config.write(toFile: dir + "/sshd_config", atomically: true, encoding: .utf8)
            let process = try Shell.start("/usr/sbin/sshd", ["-D", "-e", "-f", dir + "/sshd_config"])
            env.own(process)
            do {
                try eventually(timeout: 10, "sshd on \(port)") { Net.isListening(port) || !process.isRunning }
                if process.isRunning { return SSHD(port: port, authorizedKeys: keys, dir: dir) }
            } catch {}
        }
        throw TestFailure.message("sshd did not start")
    }

    /// A new client key pair; returns the private key path (the public key is at path + ".pub").
    func makeKey(_ name: String) throws -> String {
        let path = dir + "/client_\(name)"
        try Shell.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "\(name)@test", "-f", path])
        return path
    }

    /// ssh's arguments to reach this server with `key` (add the command after them).
    func sshArgs(key: String, tty: Bool = false) -> [String] {
        ["-i", key, "-p", "\(port)", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"] + (tty ? ["-tt"] : ["-T"])
            + ["\(NSUserName())@127.0.0.1"]
    }

    /// Runs one command over SSH with `key`.
    func run(key: String, _ command: String) throws -> ProcessResult {
        try Shell.run("/usr/bin/ssh", sshArgs(key: key) + [command])
    }
}
