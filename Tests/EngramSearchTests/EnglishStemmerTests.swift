import XCTest

@testable import EngramSearch

final class EnglishStemmerTests: XCTestCase {
    /// Pairs produced by the reference Snowball English stemmer (snowballstemmer 3.1.1).
    static let reference: [(String, String)] = [
        ("consign", "consign"), ("consigned", "consign"), ("consigning", "consign"), ("consignment", "consign"),
        ("consistency", "consist"), ("generate", "generat"), ("generously", "generous"), ("communication", "communic"),
        ("universal", "universal"), ("organization", "organiz"), ("emergency", "emergenc"), ("international", "internat"),
        ("dying", "die"), ("lying", "lie"), ("inning", "inning"), ("outing", "outing"), ("herring", "herring"),
        ("proceed", "proceed"), ("exceed", "exceed"), ("succeed", "succeed"), ("agreed", "agre"), ("hoping", "hope"),
        ("hopped", "hop"), ("sized", "size"), ("generalization", "general"), ("analogies", "analog"),
        ("biologist", "biolog"), ("skis", "ski"), ("skies", "sky"), ("idly", "idl"), ("gently", "gentl"),
        ("early", "earli"), ("only", "onli"), ("news", "news"), ("sky", "sky"), ("cries", "cri"), ("ties", "tie"),
        ("gaps", "gap"), ("gas", "gas"), ("kiwis", "kiwi"), ("enjoying", "enjoy"), ("toyed", "toy"), ("replied", "repli"),
        ("added", "add"), ("controllable", "control"), ("happily", "happili"), ("hopefulness", "hope"),
        ("goodness", "good"), ("formalize", "formal"), ("electrical", "electr"), ("relational", "relat"),
        ("conditional", "condit"), ("rational", "ration"), ("decisiveness", "decis"), ("hopelessly", "hopeless"),
        ("configuration", "configur"), ("configured", "configur"), ("configuring", "configur"), ("retries", "retri"),
        ("retried", "retri"), ("retrying", "retri"), ("running", "run"), ("runner", "runner"), ("databases", "databas"),
        ("migrations", "migrat"), ("deployment", "deploy"), ("deploying", "deploy"), ("tested", "test"),
        ("testing", "test"), ("tests", "test"), ("authentication", "authent"), ("authenticated", "authent"),
        ("caching", "cach"), ("cached", "cach"),
        // Two words per suffix rule, drawn from real text.
        ("classes", "class"), ("passes", "pass"), ("megacities", "megac"), ("agencies", "agenc"),
        ("embodied", "embodi"), ("certified", "certifi"), ("continuous", "continu"), ("contagious", "contagi"),
        ("smartness", "smart"), ("resourcefulness", "resourc"), ("moods", "mood"), ("leaves", "leav"),
        ("indeed", "inde"), ("breed", "breed"), ("married", "marri"), ("pumped", "pump"), ("wrapping", "wrap"),
        ("needing", "need"), ("amazingly", "amaz"), ("unsurprisingly", "unsurpris"), ("probably", "probabl"),
        ("balcony", "balconi"), ("unconditional", "uncondit"), ("inspirational", "inspir"), ("synthesizer", "synthes"),
        ("organizer", "organiz"), ("civilization", "civil"), ("organization", "organiz"), ("national", "nation"),
        ("motivational", "motiv"), ("confirmation", "confirm"), ("interpretation", "interpret"),
        ("calculator", "calcul"), ("refrigerator", "refriger"), ("mindfulness", "mind"), ("peacefulness", "peac"),
        ("nervousness", "nervous"), ("axiousness", "axious"), ("competitiveness", "competit"),
        ("forgiveness", "forgiv"), ("broccoli", "broccoli"), ("chili", "chili"), ("visualize", "visual"),
        ("socialize", "social"), ("communicate", "communic"), ("intricate", "intric"), ("musical", "music"),
        ("ecological", "ecolog"), ("thankful", "thank"), ("playful", "play"), ("cleanliness", "cleanli"),
        ("sadness", "sad"), ("creative", "creativ"), ("imaginative", "imagin"), ("total", "total"),
        ("medieval", "mediev"), ("acceptance", "accept"), ("romance", "romanc"), ("residence", "resid"),
        ("silence", "silenc"), ("roller", "roller"), ("tougher", "tougher"), ("electronic", "electron"),
        ("futuristic", "futurist"), ("reliable", "reliabl"), ("sustainable", "sustain"), ("possible", "possibl"),
        ("invincible", "invinc"), ("tournemant", "tournem"), ("pregnant", "pregnant"), ("involvement", "involv"),
        ("judgement", "judgement"), ("fulfillment", "fulfil"), ("moment", "moment"), ("unemployment", "unemploy"),
        ("different", "differ"), ("activism", "activ"), ("athleticism", "athletic"), ("underestimate", "underestim"),
        ("cultivate", "cultiv"), ("mountainous", "mountain"), ("couragous", "courag"), ("initiative", "initi"),
        ("receive", "receiv"), ("apologize", "apolog"), ("prioritize", "priorit"), ("transformation", "transform"),
        ("conversation", "convers"), ("create", "creat"), ("behave", "behav"), ("faithful", "faith"),
        ("occasional", "occasion"), ("small", "small"), ("treadmill", "treadmil"),
    ]

    func testMatchesReferenceStemmer() {
        for (word, stem) in Self.reference {
            XCTAssertEqual(EnglishStemmer.stem(word), stem, word)
        }
    }

    func testLeavesShortAndNonASCIIWordsAlone() {
        XCTAssertEqual(EnglishStemmer.stem("is"), "is")
        XCTAssertEqual(EnglishStemmer.stem("v2"), "v2")
        XCTAssertEqual(EnglishStemmer.stem("2023"), "2023")
        XCTAssertEqual(EnglishStemmer.stem("café"), "café")
        XCTAssertEqual(EnglishStemmer.stem("Running"), "Running")  // callers lower-case first
        XCTAssertEqual(EnglishStemmer.stem(""), "")
    }

    func testInflectionsMeetAtOneStem() {
        for family in [
            ["connect", "connected", "connecting", "connection", "connections"],
            ["index", "indexes", "indexed", "indexing"],
            ["deploy", "deploys", "deployed", "deploying", "deployment"],
        ] {
            XCTAssertEqual(Set(family.map(EnglishStemmer.stem)).count, 1, "\(family)")
        }
    }
}
