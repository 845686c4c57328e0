import Foundation

/// A real Git LFS server: giftless (gunicorn, local storage, anonymous read-write) behind a real nginx.
///
/// nginx also serves the git repositories over smart HTTP (`git http-backend`) and, as a CDN would, the
/// object files themselves, straight from giftless's storage with real `Range` support and an optional
/// `limit_rate`. So `http://127.0.0.1:PORT/git/NAME.git` is a repository whose derived LFS endpoint
/// (`…/NAME.git/info/lfs`) is giftless, and every download shows up in the access log with its status,
/// `Range` header and body bytes.
struct LFSServer {
    let port: Int
    /// Bare repositories served at `/git/NAME.git`.
    let gitRoot: String
    /// giftless's storage: `<storage>/git/<NAME>/<oid>`.
    let storage: String
    let accessLog: String
    /// `https` when started with `tls` (a self-signed certificate for 127.0.0.1, HTTP/2 offered), else `http`.
    var scheme = "http"

    func url(_ name: String) -> String { "\(scheme)://127.0.0.1:\(port)/git/\(name).git" }
    func endpoint(_ name: String) -> String { url(name) + "/info/lfs" }
    func storedObject(_ name: String, _ oid: String) -> String { storage + "/git/\(name)/\(oid)" }

    /// One logged request for an object file.
    struct Download {
        var method: String
        var status: Int
        var bytes: Int
        var range: String
    }

    /// Every request nginx has logged so far: method, path, the address it came from, and the protocol.
    var requests: [(method: String, path: String, from: String, protocol: String)] {
        ((try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ").map(String.init)
            return f.count >= 7 ? (f[0], f[1], f[5], f[6]) : nil
        }
    }

    /// The object downloads nginx has logged so far (a request is logged when it ends, also when the client died).
    func downloads(of oid: String) -> [Download] {
        let text = (try? String(contentsOfFile: accessLog, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 5, f[1].hasSuffix("/objects/storage/" + oid), f[0] == "GET" else { return nil }
            return Download(method: f[0], status: Int(f[2]) ?? 0, bytes: Int(f[3]) ?? 0, range: f[4].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
    }

    /// The project's venv (scripts/install-deps.sh with WITH_TEST_DEPS=1 creates it).
    static var venv: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path + "/.venv"
    }

    static func start(env: TestEnv, workers: Int = 4, limitRate: String? = nil, tls: Bool = false) throws -> LFSServer {
        let gunicorn = venv + "/bin/gunicorn"
        guard FileManager.default.isExecutableFile(atPath: gunicorn) else {
            throw TestFailure.message("giftless is not installed: run 'WITH_TEST_DEPS=1 scripts/install-deps.sh' (makes .venv)")
        }
        let dir = env.path("lfs-server-\(UUID().uuidString.prefix(6))")
        let storage = dir + "/storage"
        let gitRoot = dir + "/repos"
        try FileManager.default.createDirectory(atPath: storage, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: gitRoot, withIntermediateDirectories: true)

        // giftless on its own port.
        let config = dir + "/giftless.yaml"
        try """
        AUTH_PROVIDERS:
          - giftless.auth.allow_anon:read_write
        LEGACY_ENDPOINTS: false
        TRANSFER_ADAPTERS:
          basic:
            factory: giftless.transfer.basic_streaming:factory
            options:
              storage_class: giftless.storage.local_storage:LocalStorage
              storage_options:
                path: \(storage)
              action_lifetime: 900
        # Behind nginx's TLS, download links must say https (X-Forwarded-Proto).
        MIDDLEWARE:
          - class: werkzeug.middleware.proxy_fix:ProxyFix
            kwargs:
              x_proto: 1
        """.write(toFile: config, atomically: true, encoding: .utf8)
        if tls {
            let r = try Shell.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                                                       "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                                       "-keyout", dir + "/tls.key", "-out", dir + "/tls.crt"])
            guard r.status == 0 else { throw TestFailure.message("openssl could not make a certificate: \(r)") }
        }
        var giftlessPort = 0
        for _ in 0..<5 {
            let port = Net.freePort()
            let process = try Shell.start(gunicorn, [
                "--no-control-socket", "--workers", "\(workers)", "--bind", "127.0.0.1:\(port)",
                "--chdir", dir, "--log-level", "warning", "giftless.wsgi_entrypoint:app",
            ], environment: ["GIFTLESS_CONFIG_FILE": config])
            env.own(process)
            if (try? eventually(timeout: 20, "giftless on \(port)") { Net.isListening(port) || !process.isRunning }) != nil, process.isRunning {
                giftlessPort = port
                break
            }
        }
        guard giftlessPort != 0 else { throw TestFailure.message("giftless did not start") }

        let socket = dir + "/fcgiwrap.sock"
        let fcgi = try Shell.start("/usr/sbin/fcgiwrap", ["-c", "4", "-s", "unix:\(socket)"])
        env.own(fcgi)
        try eventually(timeout: 10, "fcgiwrap socket") { FileManager.default.fileExists(atPath: socket) }

        let accessLog = dir + "/access.log"
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
                log_format lfs '$request_method $uri $status $body_bytes_sent "$http_range" $remote_addr $server_protocol';
                access_log \(accessLog) lfs;
                client_body_temp_path \(dir)/client_body;
                fastcgi_temp_path \(dir)/fastcgi;
                proxy_temp_path \(dir)/proxy;
                uwsgi_temp_path \(dir)/uwsgi;
                scgi_temp_path \(dir)/scgi;
                client_max_body_size 0;
                server {
                    listen 127.0.0.1:\(port)\(tls ? " ssl http2" : "");
                    \(tls ? "ssl_certificate \(dir)/tls.crt; ssl_certificate_key \(dir)/tls.key;" : "")
                    # Object files: uploads go to giftless, downloads are static files with Range.
                    location ~ "^/(?<orgrepo>.+)\\.git/info/lfs/objects/storage/(?<oid>[0-9a-f]{64})$" {
                        if ($request_method = PUT) { proxy_pass http://127.0.0.1:\(giftlessPort); }
                        alias \(storage)/$orgrepo/$oid;
                        default_type application/octet-stream;
                        \(limitRate.map { "limit_rate \($0);" } ?? "")
                    }
                    # The batch API (and verify) is giftless itself.
                    location ~ ^/.+\\.git/info/lfs/ {
                        proxy_pass http://127.0.0.1:\(giftlessPort);
                        proxy_set_header Host $http_host;
                        proxy_set_header X-Forwarded-Proto $scheme;
                        proxy_request_buffering off;
                        proxy_buffering off;
                        proxy_http_version 1.1;
                    }
                    location ~ ^/git(/.*)$ {
                        include /etc/nginx/fastcgi_params;
                        fastcgi_pass unix:\(socket);
                        fastcgi_param SCRIPT_FILENAME /usr/lib/git-core/git-http-backend;
                        fastcgi_param GIT_PROJECT_ROOT \(gitRoot);
                        fastcgi_param GIT_HTTP_EXPORT_ALL "";
                        fastcgi_param PATH_INFO $1;
                        fastcgi_buffering off;
                    }
                }
            }
            """
            try conf.write(toFile: dir + "/nginx.conf", atomically: true, encoding: .utf8)
            let nginx = try Shell.start("/usr/sbin/nginx", ["-c", dir + "/nginx.conf", "-p", dir])
            env.own(nginx)
            if (try? eventually(timeout: 10, "nginx on \(port)") { Net.isListening(port) || !nginx.isRunning }) != nil, nginx.isRunning {
                return LFSServer(port: port, gitRoot: gitRoot, storage: storage, accessLog: accessLog, scheme: tls ? "https" : "http")
            }
        }
        throw TestFailure.message("nginx did not start")
    }
}
