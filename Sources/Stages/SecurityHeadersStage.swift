import Foundation
import StepRunner
import WizardCore

/// Stage 10: the security headers — Django's settings in the managed block (HSTS at 30 s first,
/// proxy SSL header, referrer policy, nosniff, frame options, secure cookies, django-csp with
/// the tutorial's style source and no 'unsafe-inline'), gunicorn HUP'd so that they take effect,
/// and nginx adding Permissions-Policy (Django has no setting for it). Every header is checked
/// on a real HTTPS answer.
enum SecurityHeadersStage {
    static let id: StageID = "security-headers"
    /// The tutorial's first, deliberately small HSTS max-age.
    static let initialHSTSSeconds = 30
    /// The tutorial allows normalize.css from this CDN.
    static let styleSources = ["'self'", "cdn.jsdelivr.net"]

    static func section(_ l: AppLayout, templates: TemplateSource) throws -> String {
        try templates.render("https/settings-security-headers.py", [
            "hsts_seconds": String(initialHSTSSeconds),
            "app_port": String(l.appPort),
            "csp": ManagedBlock.normalize(try l.pins.cspSettings(styleSources: styleSources, templates: templates)),
        ])
    }

    static func make(_ env: StageEnvironment) -> StageDefinition {
        let templates = TemplateSource(env)
        return StageDefinition(id: id, title: "Security headers", steps: [
            StepKit.settingsSectionStep(id: "security-headers.settings",
                                        title: "settings.py: HSTS (30 s), proxy SSL header, referrer policy, secure cookies, CSP",
                                        section: "security-headers", templates: templates) { l in
                try section(l, templates: templates)
            },
            GunicornStage.running(id: "security-headers.gunicorn", title: "gunicorn reloaded (HUP) with the new settings",
                                  extraVerify: { ctx, l in
                                      try await HTTPSProbe.verifyHeaders(ctx, l, django: true, nginx: false)
                                  }),
            NginxStage.siteStep(id: "security-headers.nginx", title: "nginx: Permissions-Policy on HTTPS answers",
                                templates: templates, adding: [.headers],
                                extraVerify: { ctx, l in
                                    try await HTTPSProbe.verifyHeaders(ctx, l, django: true, nginx: true)
                                }),
        ])
    }
}
