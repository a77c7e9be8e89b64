import Foundation
import Testing
@testable import Stages

/// The add_header inheritance lint over nginx configurations (fixtures below).
@Suite struct VerifyNginxLintTests {
    /// The deployed site as the https stages write it: Permissions-Policy at the server level.
    static let deployedSite = """
    # Written by djdeploy for supersecure.test
    server_tokens off;

    server {
        listen 80 default_server;
        server_name _;
        return 444;
    }

    server {
        server_name .supersecure.test;
        listen 80;
        return 307 https://$host$request_uri;
    }

    server {
        server_name .supersecure.test;
        listen 443 ssl;
        ssl_certificate /etc/letsencrypt/live/supersecure.test/fullchain.pem;
        ssl_certificate_key /etc/letsencrypt/live/supersecure.test/privkey.pem;
        include /etc/letsencrypt/options-ssl-nginx.conf;

        # Django has no setting for this header; nginx adds it to every HTTPS answer.
        add_header Permissions-Policy "camera=(), microphone=(), geolocation=()" always;

        location / {
            proxy_pass http://127.0.0.1:8000;
            proxy_set_header Host $host;
        }

        location /static {
            alias /var/www/supersecure.test/static/;
        }
    }
    """

    static func http(_ body: String) -> String { "events {}\nhttp {\n" + body + "\n}\n" }

    func lint(_ text: String, harmless: Bool = false) throws -> [NginxConfig.AddHeaderFinding] {
        NginxConfig.lintAddHeader(try NginxConfig.parse(text), includeHarmless: harmless)
    }

    @Test func deployedSiteIsClean() throws {
        #expect(try lint(Self.http(Self.deployedSite)).isEmpty)
        #expect(try lint(Self.http(Self.deployedSite), harmless: true).isEmpty)
        let config = try NginxConfig.parse(Self.http(Self.deployedSite))
        #expect(NginxConfig.serverLevelHeaders(config, host: "supersecure.test") == ["permissions-policy"])
        #expect(NginxConfig.serverLevelHeaders(config, host: "www.supersecure.test") == ["permissions-policy"])
        #expect(NginxConfig.servers(config).count == 3)
    }

    @Test func addHeaderInLocationDropsTheServerHeaders() throws {
        let broken = Self.deployedSite.replacingOccurrences(
            of: "location /static {\n        alias",
            with: "location /static {\n        add_header Cache-Control \"public, max-age=86400\";\n        alias")
        let findings = try lint(Self.http(broken))
        #expect(findings.count == 1)
        let f = try #require(findings.first)
        #expect(f.context == "server > location /static")
        #expect(f.dropped == ["permissions-policy"])
        #expect(f.own == ["cache-control"])
        #expect(f.serverNames == [".supersecure.test"])
        #expect(f.line == 33)
        #expect(f.description.contains("drops the inherited permissions-policy"))
    }

    @Test func repeatingTheInheritedHeadersIsFine() throws {
        let text = Self.http("""
        server {
            server_name example.test;
            add_header X-Frame-Options DENY;
            add_header X-Content-Type-Options nosniff;
            location /a {
                add_header X-Frame-Options DENY;
                add_header X-Content-Type-Options nosniff;
                add_header Cache-Control no-store;
            }
        }
        """)
        #expect(try lint(text).isEmpty)
        // reported only as harmless (nothing dropped)
        let all = try lint(text, harmless: true)
        #expect(all.count == 1 && all[0].dropped.isEmpty)
    }

    @Test func partialRepeatNamesWhatIsDropped() throws {
        let text = Self.http("""
        server {
            add_header X-Frame-Options DENY;
            add_header Referrer-Policy same-origin;
            location / { add_header X-Frame-Options SAMEORIGIN; }
        }
        """)
        #expect(try lint(text).map(\.dropped) == [["referrer-policy"]])
    }

    @Test func httpLevelHeadersDroppedByAServer() throws {
        let text = Self.http("""
        add_header Strict-Transport-Security "max-age=31536000" always;
        server { server_name a.test; location / { return 200; } }
        server { server_name b.test; add_header X-Test 1; }
        """)
        let findings = try lint(text)
        #expect(findings.count == 1)
        #expect(findings[0].serverNames == ["b.test"])
        #expect(findings[0].context == "server")
        #expect(findings[0].dropped == ["strict-transport-security"])
        let config = try NginxConfig.parse(text)
        #expect(NginxConfig.serverLevelHeaders(config, host: "a.test") == ["strict-transport-security"])
        #expect(NginxConfig.serverLevelHeaders(config, host: "b.test") == ["x-test"])
    }

    @Test func nestedLocationsAndIf() throws {
        let text = Self.http("""
        server {
            server_name .s.test;
            add_header Permissions-Policy "camera=()";
            location / {
                location /api/ {
                    add_header X-API 1;
                }
                if ($request_method = POST) {
                    add_header X-Post 1;
                }
            }
            location /plain/ {
                location /plain/deeper/ { return 200; }
            }
        }
        """)
        let findings = try lint(text)
        #expect(findings.map(\.context) == ["server > location / > location /api/", "server > location / > if"])
        #expect(findings.allSatisfy { $0.dropped == ["permissions-policy"] })
    }

    @Test func aLocationWithNothingToInheritIsOnlyHarmless() throws {
        let text = Self.http("server { server_name x.test; location / { add_header X-A 1; } }")
        #expect(try lint(text).isEmpty)
        #expect(try lint(text, harmless: true).count == 1)
    }

    @Test func quotesCommentsAndEscapes() throws {
        let text = Self.http(#"""
        server {
            server_name q.test; # a comment with { braces; and semicolons }
            add_header Content-Security-Policy "default-src 'self'; img-src * data:; # not a comment" always;
            add_header 'X-Single' 'a }{ b';
            add_header X-Escaped a\;b;
            location ~* "\.(js|css)$" { expires 1d; }
        }
        """#)
        let config = try NginxConfig.parse(text)
        let server = try #require(NginxConfig.servers(config).first)
        let headers = (server.block ?? []).filter { $0.name == "add_header" }
        #expect(headers.map { $0.args.first ?? "" } == ["Content-Security-Policy", "X-Single", "X-Escaped"])
        #expect(headers[0].args[1] == "default-src 'self'; img-src * data:; # not a comment")
        #expect(headers[0].args[2] == "always")
        #expect(headers[1].args[1] == "a }{ b")
        #expect(headers[2].args[1] == "a\\;b")  // nginx keeps the backslash; the ; does not end the directive
        let loc = try #require((server.block ?? []).first { $0.name == "location" })
        #expect(loc.args == ["~*", "\\.(js|css)$"])
    }

    @Test func luaBlocksAreSkipped() throws {
        let text = Self.http("""
        server {
            add_header X-A 1;
            location / {
                content_by_lua_block { ngx.say("}") if x then y end }
            }
        }
        """)
        // the Lua block's braces are counted as tokens; the location has no add_header
        #expect(try lint(text).isEmpty)
    }

    @Test func syntaxErrors() {
        #expect(throws: NginxConfig.ParseError.self) { try NginxConfig.parse("http { server { listen 80; }") }
        #expect(throws: NginxConfig.ParseError.self) { try NginxConfig.parse("http { listen 80 }") }
        #expect(throws: NginxConfig.ParseError.self) { try NginxConfig.parse("}") }
        #expect(throws: NginxConfig.ParseError.self) { try NginxConfig.parse("add_header \"X 1;") }
    }

    /// `nginx -T` prints every file; includes are expanded from the dump (globs, sorted).
    @Test func dumpWithIncludes() throws {
        let dump = """
        # configuration file /etc/nginx/nginx.conf:
        user www-data;
        events { worker_connections 768; }
        http {
            include /etc/nginx/mime.types;
            ssl_protocols TLSv1.2 TLSv1.3;
            include /etc/nginx/conf.d/*.conf;
            include /etc/nginx/sites-enabled/*;
        }

        # configuration file /etc/nginx/mime.types:
        types {
            text/html html htm;
        }

        # configuration file /etc/nginx/sites-enabled/supersecure.test:
        server {
            server_name .supersecure.test;
            listen 443 ssl;
            include snippets/headers.conf;
            location /static {
                add_header Cache-Control public;
                alias /var/www/supersecure.test/static/;
            }
        }

        # configuration file /etc/nginx/snippets/headers.conf:
        add_header Permissions-Policy "camera=()" always;
        add_header X-Frame-Options DENY always;

        """
        let files = NginxConfig.splitDump(dump)
        #expect(files.map(\.path) == ["/etc/nginx/nginx.conf", "/etc/nginx/mime.types",
                                      "/etc/nginx/sites-enabled/supersecure.test", "/etc/nginx/snippets/headers.conf"])
        let config = try NginxConfig.parseDump(dump)
        #expect(NginxConfig.serverLevelHeaders(config, host: "supersecure.test") == ["permissions-policy", "x-frame-options"])
        let findings = NginxConfig.lintAddHeader(config)
        #expect(findings.count == 1)
        #expect(findings[0].file == "/etc/nginx/sites-enabled/supersecure.test")
        #expect(findings[0].line == 5)
        #expect(findings[0].dropped == ["permissions-policy", "x-frame-options"])
    }

    @Test func serverNameMatching() throws {
        let config = try NginxConfig.parse(Self.http("""
        server { server_name .a.test; }
        server { server_name *.b.test b.test; }
        server { server_name c.test; }
        """))
        let s = NginxConfig.servers(config)
        #expect(NginxConfig.server(s[0], matches: "a.test") && NginxConfig.server(s[0], matches: "www.a.test"))
        #expect(NginxConfig.server(s[1], matches: "www.b.test") && NginxConfig.server(s[1], matches: "b.test"))
        #expect(NginxConfig.server(s[2], matches: "c.test") && !NginxConfig.server(s[2], matches: "www.c.test"))
        #expect(!NginxConfig.server(s[0], matches: "xa.test"))
    }
}
