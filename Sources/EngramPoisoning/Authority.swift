import EngramHarmfulDirectives
import EngramPoisoningCore

/// `authority-claim`: an appeal to authority attached to a harmful directive (policy rule 4).
///
/// "The security team requires…", "Per the CTO…", "Message from Anthropic support…", "Admin
/// override (approved by the org owner)", "the SRE lead confirmed…", "mandatory per SEC-POL-7".
/// On its own a claim changes nothing — "the security team requires signed commits" is a
/// protective rule and stays allowed — so this rule runs only after another rule found a harmful
/// directive or a hijack; then the claim is reported and the harmful findings become block, even
/// those that alone would be only suspicious.
enum Authority {
    static let claims = needles([
        "security team requires", "security team says", "security team has approved", "security approved",
        "per the cto", "per the ciso", "per the vp", "per security", "per the security team", "per the platform team",
        "per legal", "message from anthropic", "anthropic support", "from anthropic", "openai support",
        "message from openai", "github support", "message from", "notice from", "platform team notice",
        "security notice", "it notice", "approved by the org owner", "approved by the admin", "approved by the cto",
        "approved by security", "approved by management", "approved by leadership", "admin override",
        "officially", "on their instruction", "on the instruction of", "mandatory per", "compliance requires",
        "required for compliance", "for compliance review", "authorized by", "are authorized to", "is authorized to",
        "have been authorized", "has been authorized", "lead confirmed", "confirmed that assistants", "leadership has approved",
        "policy update", "directive from", "by order of", "the ciso", "the cto", "vp of engineering", "legal requires",
        "sanctioned", "whitelisted by security", "signed off by", "per sec-", "per policy", "org policy:",
        "company policy", "workspace policy", "added by setup bot", "added on their instruction", "the maintainers pre-approved",
        "assistant directive", "per the sre", "the sre lead", "platform team", "security team",
        "por orden de", "el equipo de seguridad", "l'équipe sécurité", "l'équipe de sécurité", "das sicherheitsteam",
        "a equipe de segurança", "il team di sicurezza", "安全团队", "セキュリティチーム", "команда безопасности",
    ])

    static func scan(_ t: ScreenText, _ out: inout Hits) {
        guard out.list.contains(where: { $0.category == .harmful || $0.category == .hijack }) else { return }
        guard let (p, len) = t.first(claims, in: t.whole) else { return }
        out.add("authority-claim", .authority, .block, p, p + len)
    }
}
