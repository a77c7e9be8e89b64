import Foundation

/// The name of an input (the answers file's flattened key, e.g. `domain`, `firewall_provider`).
/// Known keys have a validator (`kind`); other keys are validated as plain text.
public struct InputKey: RawRepresentable, Hashable, Codable, Sendable, Comparable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public var description: String { rawValue }
    public static func < (a: InputKey, b: InputKey) -> Bool { a.rawValue < b.rawValue }

    public static let domain: InputKey = "domain"
    public static let email: InputKey = "email"
    public static let serverIP: InputKey = "server_ip"
    public static let djangoVersion: InputKey = "django_version"
    public static let acmeServer: InputKey = "acme_server"
    public static let dnsResolver: InputKey = "dns_resolver"
    public static let hstsFinalSeconds: InputKey = "hsts_final_seconds"
    public static let appUser: InputKey = "app_user"
    /// `sample`, `path` or `git`.
    public static let appSource: InputKey = "app_source"
    public static let appPath: InputKey = "app_path"
    public static let appGit: InputKey = "app_git"
    public static let appRequirements: InputKey = "app_requirements"
    /// The port gunicorn listens on and nginx proxies to (another site's gunicorn may hold 8000).
    public static let appPort: InputKey = "app_port"
    /// `manual`, `aws` or `ufw`.
    public static let firewallProvider: InputKey = "firewall_provider"
    public static let awsSecurityGroupID: InputKey = "aws_security_group_id"
    public static let awsRegion: InputKey = "aws_region"
    public static let awsEndpointURL: InputKey = "aws_endpoint_url"
    /// `manual` or `aws` (an Elastic IP for `aws_instance_id`).
    public static let staticIPProvider: InputKey = "static_ip_provider"
    public static let awsInstanceID: InputKey = "aws_instance_id"
    /// The operator's public address or network, for firewall rules (optional).
    public static let operatorCIDR: InputKey = "operator_cidr"

    /// The validator for this key's values.
    public var kind: InputKind { Self.kinds[self] ?? .text }

    /// Human label, for screens.
    public var label: String { Self.labels[self] ?? rawValue }

    static let kinds: [InputKey: InputKind] = [
        .domain: .domain, .email: .email, .serverIP: .ipAddress, .djangoVersion: .djangoVersion,
        .acmeServer: .url, .dnsResolver: .resolver, .hstsFinalSeconds: .integer(0 ... 63_072_000),
        .appUser: .unixUser, .appSource: .choice(["sample", "path", "git"]), .appPath: .absolutePath,
        .appGit: .gitURL, .appRequirements: .relativePath, .appPort: .integer(1024 ... 65535),
        .firewallProvider: .choice(["manual", "aws", "ufw"]),
        .awsSecurityGroupID: .awsSecurityGroupID, .awsRegion: .awsRegion, .awsEndpointURL: .url,
        .operatorCIDR: .cidr, .staticIPProvider: .choice(["manual", "aws"]), .awsInstanceID: .awsInstanceID,
    ]
    static let labels: [InputKey: String] = [
        .domain: "Domain", .email: "E-mail (Let's Encrypt)", .serverIP: "Server IP",
        .djangoVersion: "Django version", .acmeServer: "ACME server", .dnsResolver: "DNS resolver",
        .hstsFinalSeconds: "Final HSTS max-age (s)", .appUser: "App user", .appSource: "App source",
        .appPath: "App path on server", .appGit: "App git URL", .appRequirements: "requirements file", .appPort: "App port (gunicorn)",
        .firewallProvider: "Firewall provider", .awsSecurityGroupID: "AWS security group",
        .awsRegion: "AWS region", .awsEndpointURL: "AWS endpoint URL", .operatorCIDR: "Operator network",
        .staticIPProvider: "Static IP provider", .awsInstanceID: "AWS instance id",
    ]

    /// Defaults used when an input is not given.
    public static let defaults: [InputKey: String] = [
        .djangoVersion: "3.2", .hstsFinalSeconds: "2592000", .appUser: "django", .appSource: "sample",
        .firewallProvider: "manual", .appRequirements: "requirements.txt", .appPort: "8000",
        .staticIPProvider: "manual",
    ]

    /// Whether a step that reads this input cannot run without it, given the other inputs (many
    /// inputs only matter for one provider or have a sensible absence: the system resolver,
    /// Let's Encrypt's production server, no extra AWS endpoint).
    public func isRequired(given inputs: [String: String]) -> Bool {
        func value(_ k: InputKey) -> String? { inputs[k.rawValue] ?? InputKey.defaults[k] }
        switch self {
        case .operatorCIDR: return ["aws", "ufw"].contains(value(.firewallProvider) ?? "manual")
        case .awsSecurityGroupID, .awsRegion: return value(.firewallProvider) == "aws"
        case .awsInstanceID: return value(.staticIPProvider) == "aws"
        case .serverIP: return value(.staticIPProvider) != "aws"
        case .appPath: return value(.appSource) == "path"
        case .appGit: return value(.appSource) == "git"
        case .awsEndpointURL, .dnsResolver, .acmeServer: return false
        default: return Self.defaults[self] == nil
        }
    }

    /// Validates a value for this key; returns the normalized value.
    public func validate(_ value: String) throws(ValidationError) -> String {
        try Validate.value(value, as: kind, field: rawValue)
    }
}
