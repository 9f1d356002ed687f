"""WhatsApp ids to phone numbers and one stable key per person.

WhatsApp ids are `<digits>@s.whatsapp.net` (or the older `@c.us`), `<id>@lid` (no number) and
`<id>@g.us` (groups). Brazilian mobile numbers gained a 9th digit in 2012-2016, yet WhatsApp
still names many accounts by the old 8-digit form: `5511 8765-4321` and `5511 98765-4321` are the
same person, so the key always carries the 9.
"""

import phonenumbers

USER_SUFFIXES = ("@s.whatsapp.net", "@c.us")


def digits_of(wa_id: str) -> str | None:
    """The number in a WhatsApp user id, or None for @lid, groups and anything else."""
    local, _, domain = wa_id.partition("@")
    local = local.split(":", 1)[0]  # device suffix, e.g. 5511...:12@s.whatsapp.net
    if (not domain or "@" + domain in USER_SUFFIXES) and local.isdigit() and 7 <= len(local) <= 15:
        return local
    return None


def e164(digits: str) -> str | None:
    """The E.164 form of an international number in digits, Brazil's 9th digit restored."""
    try:
        number = phonenumbers.parse("+" + digits.lstrip("+"), None)
    except phonenumbers.NumberParseException:
        return None
    national = str(number.national_number)
    # Brazilian mobile without the 9th digit: DDD (2 digits) + 8 digits starting with 6-9.
    if number.country_code == 55 and len(national) == 10 and national[2] in "6789":
        number = phonenumbers.parse(f"+55{national[:2]}9{national[2:]}", None)
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_key(wa_id: str, phone_digits: str | None = None) -> tuple[str, str | None]:
    """(key, E.164 phone or None): the key is the E.164 number when known, else the raw id."""
    digits = phone_digits or digits_of(wa_id)
    phone = e164(digits) if digits else None
    return (phone or wa_id), phone
