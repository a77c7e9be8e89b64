import Foundation
import StepRunner
import WizardCore

/// A host of the exported inventory.
public struct AnsibleHost: Sendable, Equatable {
    public var name: String
    public var address: String
    public var port: Int?
    public var user: String?
    public var identityFile: String?
    public init(name: String, address: String, port: Int? = nil, user: String? = nil, identityFile: String? = nil) {
        self.name = name
        self.address = address
        self.port = port
        self.user = user
        self.identityFile = identityFile
    }
}

/// Renders an `ExportPlan` as an Ansible project (inventory.ini, ansible.cfg, site.yml,
/// group_vars/all.yml, tasks/<stage>.yml, templates/*.j2).
enum AnsibleExport {
    /// Writes the project into `dir` (created when missing) and returns the paths written,
    /// relative to `dir`.
    static func write(_ plan: ExportPlan, hosts: [AnsibleHost], knownHostsFile: String?, to dir: String) throws -> [String] {
        throw ExportError.unsupported("the Ansible export is not written yet")
    }
}
