import Foundation

/// A real `git daemon` serving a directory over git:// on 127.0.0.1.
struct GitDaemon {
    let port: Int
    let root: String

    func url(_ name: String) -> String { "git://127.0.0.1:\(port)/\(name).git" }

    static func start(env: TestEnv, root: String) throws -> GitDaemon {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for _ in 0..<5 {
            let port = Net.freePort()
            let process = try Shell.start("/usr/bin/git", [
                "daemon", "--reuseaddr", "--export-all", "--base-path=\(root)",
                "--listen=127.0.0.1", "--port=\(port)", root,
            ])
            env.own(process)
            do {
                try eventually(timeout: 10, "git daemon on \(port)") { Net.isListening(port) || !process.isRunning }
                if process.isRunning { return GitDaemon(port: port, root: root) }
            } catch {}
        }
        throw TestFailure.message("git daemon did not start")
    }
}

/// `git http-backend` behind a real nginx (through fcgiwrap): smart HTTP on 127.0.0.1.
///
/// Paths: `/git/NAME.git` (open), `/private/NAME.git` (basic auth user `alice`/`secret`),
/// `/slow/NAME.git` (rate-limited to `slowRate` bytes/s), `/static/...` (plain files, not git).
struct HTTPGitServer {
    let port: Int
    let root: String
    let staticRoot: String

    func url(_ name: String, path: String = "git") -> String { "http://127.0.0.1:\(port)/\(path)/\(name).git" }

    static func start(env: TestEnv, root: String, slowRate: String = "1m") throws -> HTTPGitServer {
        let dir = env.path("nginx-\(UUID().uuidString.prefix(8))")
        let staticRoot = dir + "/static-root"
        try FileManager.default.createDirectory(atPath: staticRoot + "/static/notgit.git", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try "<html><body>Welcome</body></html>\n".write(toFile: staticRoot + "/static/notgit.git/info", atomically: true, encoding: .utf8)
        // htpasswd for alice:secret (SHA scheme nginx understands).
        try "alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n".write(toFile: dir + "/htpasswd", atomically: true, encoding: .utf8)
        let socket = dir + "/fcgiwrap.sock"
        let fcgi = try Shell.start("/usr/sbin/fcgiwrap", ["-c", "4", "-s", "unix:\(socket)"])
        env.own(fcgi)
        try eventually(timeout: 10, "fcgiwrap socket") { FileManager.default.fileExists(atPath: socket) }

        // nginx's limit_rate does not apply to unbuffered FastCGI responses: /slow keeps buffering on.
        func gitLocation(_ prefix: String, extra: String) -> String {
            """
                    location ~ ^/\(prefix)(/.*)$ {
                        \(extra)
                        include /etc/nginx/fastcgi_params;
                        fastcgi_pass unix:\(socket);
                        fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
                        fastcgi_param GIT_PROJECT_ROOT \(root);
                        fastcgi_param GIT_HTTP_EXPORT_ALL "";
                        fastcgi_param PATH_INFO $1;
                        fastcgi_param REMOTE_USER $remote_user;
                        \(prefix == "slow" ? "" : "fastcgi_buffering off;")
                    }
            """
        }
        for _ in 0..<5 {
            let port = Net.freePort()
            let conf = """
            \(getuid() == 0 ? "user root;" : "")
            worker_processes 2;
            daemon off;
            pid \(dir)/nginx.pid;
            error_log \(dir)/error.log;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path \(dir)/client_body;
                fastcgi_temp_path \(dir)/fastcgi;
                proxy_temp_path \(dir)/proxy;
                uwsgi_temp_path \(dir)/uwsgi;
                scgi_temp_path \(dir)/scgi;
                server {
                    listen 127.0.0.1:\(port);
            \(gitLocation("git", extra: ""))
            \(gitLocation("private", extra: "auth_basic \"mirrordeck tests\"; auth_basic_user_file \(dir)/htpasswd;"))
            \(gitLocation("slow", extra: "limit_rate \(slowRate);"))
                    location /static/ { default_type text/html; return 200 "<html><body>Welcome</body></html>"; }
                }
            }
            """
            try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
            let nginx = try Shell.start("/usr/sbin/nginx", ["-c", dir + "/nginx.conf", "-p", dir])
            env.own(nginx)
            do {
                try eventually(timeout: 10, "nginx on \(port)") { Net.isListening(port) || !nginx.isRunning }
                if nginx.isRunning { return HTTPGitServer(port: port, root: root, staticRoot: staticRoot) }
            } catch {}
        }
        throw TestFailure.message("nginx did not start")
    }
}
