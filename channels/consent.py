"""The consent a resident gives when subscribing to alerts, as data.

Each subscription records :data:`CONSENT_VERSION` and the time it was given.
When the wording changes, the version changes with it, so it is always known
which text a subscriber agreed to. Latvian first.
"""

from __future__ import annotations

CONSENT_VERSION = "2026-11-v1"

# Title and paragraphs per language: purpose, what is stored, retention, how to stop.
CONSENT_TEXTS: dict[str, dict[str, object]] = {
    "lv": {
        "title": "Piekrišana civilās aizsardzības brīdinājumu saņemšanai",
        "paragraphs": (
            "Mērķis: nosūtīt jums Jelgavas valstspilsētas un Jelgavas novada civilās "
            "aizsardzības brīdinājumus. Pašvaldība to dara, pildot sabiedrības interesēs "
            "veicamu uzdevumu.",
            "Ko mēs glabājam: jūsu tālruņa numuru, valodu, izvēlētās teritorijas, "
            "brīdinājumu līmeņus un laiku, kad devāt piekrišanu.",
            "Cik ilgi: līdz brīdim, kad atsakāties no brīdinājumiem; tad jūsu dati tiek dzēsti.",
            "Kā atteikties: atbildiet uz mūsu SMS ar vārdu STOP vai BEIGT, vai izmantojiet "
            "lapu “Mani dati”, kur varat arī apskatīt un lejupielādēt savus datus.",
        ),
    },
    "en": {
        "title": "Consent to receive civil-protection alerts",
        "paragraphs": (
            "Purpose: to send you civil-protection alerts of Jelgava city and Jelgava "
            "municipality. The municipality does this as a task carried out in the public "
            "interest.",
            "What we store: your phone number, language, chosen areas, alert levels and the "
            "time you gave your consent.",
            "How long: until you unsubscribe; your data is then deleted.",
            "How to stop: reply STOP or BEIGT to one of our SMS, or use the “My data” page, "
            "where you can also see and download your data.",
        ),
    },
}


def consent_text(language: str, texts: dict[str, dict[str, object]] | None = None
                 ) -> dict[str, object]:
    """The consent text (``texts``: the SMS one unless given) in ``language``, else in
    Latvian."""
    texts = CONSENT_TEXTS if texts is None else texts
    return texts.get(language, texts["lv"])


# E-mail subscribers agree to a text of their own: it names the e-mail address and the
# link in every alert e-mail instead of the phone number and STOP.
EMAIL_CONSENT_VERSION = "2026-11-email-v1"
EMAIL_CONSENT_TEXTS: dict[str, dict[str, object]] = {
    "lv": {
        "title": "Piekrišana civilās aizsardzības brīdinājumu saņemšanai e-pastā",
        "paragraphs": (
            CONSENT_TEXTS["lv"]["paragraphs"][0],
            "Ko mēs glabājam: jūsu e-pasta adresi, valodu, izvēlētās teritorijas, "
            "brīdinājumu līmeņus un laiku, kad devāt piekrišanu.",
            CONSENT_TEXTS["lv"]["paragraphs"][2],
            "Kā atteikties: katrā brīdinājuma vēstulē ir saite uz lapu, kur varat apskatīt, "
            "lejupielādēt un dzēst savus datus.",
        ),
    },
    "en": {
        "title": "Consent to receive civil-protection alerts by e-mail",
        "paragraphs": (
            CONSENT_TEXTS["en"]["paragraphs"][0],
            "What we store: your e-mail address, language, chosen areas, alert levels and the "
            "time you gave your consent.",
            CONSENT_TEXTS["en"]["paragraphs"][2],
            "How to stop: every alert e-mail has a link to a page where you can see, download "
            "and delete your data.",
        ),
    },
}

