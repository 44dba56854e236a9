"""PREG: a synthetic population with realistic ages, places, statuses, protection and families."""

from __future__ import annotations

import random
import uuid
from bisect import bisect
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from typing import Any

from helsegraf.data import reference
from helsegraf.data.world import WeightedChoice, World, apportion, random_date
from helsegraf.identifiers import individual_number_range

# Population by age (5-year bands, per cent), after SSB's 2024 pyramid.
AGE_BANDS = (
    (0, 5.2), (5, 5.7), (10, 6.0), (15, 6.1), (20, 6.3), (25, 6.7), (30, 7.0), (35, 6.9),
    (40, 6.5), (45, 6.7), (50, 6.9), (55, 6.6), (60, 5.9), (65, 5.3), (70, 5.0), (75, 4.0),
    (80, 2.5), (85, 1.3), (90, 0.6), (95, 0.15), (100, 0.02),
)  # fmt: skip
D_NUMBER_RATE = 0.05  # of those aged 18-65: about 3 % of all persons
EMIGRATED_RATE = 0.01
# Adressebeskyttelse, per person: small but never zero in a nation of a thousand or more.
PROTECTION_RATES = (("STRENGT_FORTROLIG_UTLAND", 0.0001), ("STRENGT_FORTROLIG", 0.0005), ("FORTROLIG", 0.002))
MOTHER_RATE = 0.9
FATHER_RATE = 0.85
FAMILY_MAX_AGE = 40

DISTRICTS = {
    "0301": ("Gamle Oslo", "Grünerløkka", "Sagene", "St. Hanshaugen", "Frogner", "Ullern",
             "Vestre Aker", "Nordre Aker", "Bjerke", "Grorud", "Stovner", "Alna", "Østensjø",
             "Nordstrand", "Søndre Nordstrand"),
    "4601": ("Arna", "Bergenhus", "Fana", "Fyllingsdalen", "Laksevåg", "Ytrebygda", "Årstad", "Åsane"),
    "5001": ("Midtbyen", "Østbyen", "Lerkendal", "Heimdal"),
    "1103": ("Hundvåg", "Tasta", "Eiganes og Våland", "Madla", "Storhaug", "Hillevåg", "Hinna"),
}  # fmt: skip


@dataclass
class People:
    """The population, column by column (index = person)."""

    nin: list[str] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    middle: list[str | None] = field(default_factory=list)
    family: list[str] = field(default_factory=list)
    birth: list[date] = field(default_factory=list)
    gender: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    death: list[date | None] = field(default_factory=list)
    street: list[str | None] = field(default_factory=list)
    postal_code: list[str | None] = field(default_factory=list)
    postal_place: list[str | None] = field(default_factory=list)
    municipality: list[str | None] = field(default_factory=list)
    district: list[str | None] = field(default_factory=list)
    protection: list[str] = field(default_factory=list)
    home: list[str] = field(default_factory=list)  # municipality of residence, also for emigrants
    parents: list[tuple[int, int, str]] = field(default_factory=list)  # (child, parent, role)

    def __len__(self) -> int:
        return len(self.nin)

    def age(self, i: int, on: date) -> int:
        """Return person i's age in whole years on a date."""
        born = self.birth[i]
        return on.year - born.year - ((on.month, on.day) < (born.month, born.day))

    def is_alive_resident(self, i: int) -> bool:
        """Tell whether person i lives in Norway (fødselsnummer or active D-number)."""
        return self.status[i] in {"RESIDENT", "ACTIVE"}


class _Names:
    def __init__(self) -> None:
        given = reference.given_names()
        self.female = WeightedChoice(
            [n for n, g, _ in given if g == "FEMALE"], [w for _, g, w in given if g == "FEMALE"]
        )
        self.male = WeightedChoice([n for n, g, _ in given if g == "MALE"], [w for _, g, w in given if g == "MALE"])
        family = reference.family_names()
        self.family = WeightedChoice([n for n, _ in family], [w for _, w in family])
        self.streets = reference.street_names()


_K1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2 = (5, 4, 3, 2, 7, 6, 5, 4, 3)


class _Nins:
    """Hands out unique synthetic identity numbers (month + 80) for birth dates and genders.

    The check digits are computed here from partial sums, digit by digit, because the
    generator makes millions of them; tests validate every result with `parse_nin`.
    """

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def take(self, born: date, gender: str, *, d_number: bool) -> tuple[str, date]:
        """Return a fresh number and the birth date it encodes (moved a day when one is full)."""
        while True:
            spans = individual_number_range(born.year)
            ranges = spans if isinstance(spans, list) else [spans]
            prefix = f"{born.day + (40 if d_number else 0):02d}{born.month + 80:02d}{born.year % 100:02d}"
            d = [int(c) for c in prefix]
            s1 = sum(w * x for w, x in zip(_K1, d, strict=False))
            s2 = sum(w * x for w, x in zip(_K2, d, strict=False))
            male = gender == "MALE"
            for _ in range(40):
                span = ranges[0] if len(ranges) == 1 else self._rng.choice(ranges)
                individual = self._rng.randrange(span.start, span.stop)
                if (individual % 2 == 1) != male:
                    individual = individual + 1 if individual + 1 < span.stop else individual - 1
                i1, i2, i3 = individual // 100, individual // 10 % 10, individual % 10
                k1 = (11 - (s1 + 4 * i1 + 5 * i2 + 2 * i3) % 11) % 11
                if k1 == 10:
                    continue
                k2 = (11 - (s2 + 5 * i1 + 4 * i2 + 3 * i3 + 2 * k1) % 11) % 11
                if k2 == 10:
                    continue
                nin = f"{prefix}{individual:03d}{k1}{k2}"
                if nin not in self._used:
                    self._used.add(nin)
                    return nin, born
            born += timedelta(days=1)


def _postal_index() -> dict[str, list[reference.PostalPlace]]:
    index: dict[str, list[reference.PostalPlace]] = defaultdict(list)
    for place in reference.postal_places():
        index[place.municipality_code].append(place)
    return index


def _status(rng: random.Random, age: int, *, d_number: bool) -> str:
    if d_number:
        return "ACTIVE" if rng.random() < 0.8 else "INACTIVE"
    death_rate = 0.002 if age < 60 else 0.03 if age < 80 else 0.12
    roll = rng.random()
    if roll < death_rate:
        return "DECEASED"
    if roll < death_rate + EMIGRATED_RATE and 20 <= age <= 65:
        return "EMIGRATED"
    if roll < death_rate + EMIGRATED_RATE + 0.0001:
        return "DISAPPEARED"
    return "RESIDENT"


def _protection(rng: random.Random) -> str:
    roll = rng.random()
    for level, rate in PROTECTION_RATES:
        if roll < rate:
            return level
        roll -= rate
    return "UGRADERT"


def generate_people(world: World) -> People:
    """Create the population, spread over the municipalities by their real populations."""
    rng = world.rng("preg")
    names = _Names()
    nins = _Nins(world.rng("preg-nin"))
    postal = _postal_index()
    munis = reference.municipalities()
    counts = apportion(world.persons, [m.population for m in munis])
    band_cum = list(accumulate(w for _, w in AGE_BANDS))
    people = People()
    for muni, count in zip(munis, counts, strict=True):
        places = postal.get(muni.code) or [reference.PostalPlace("9999", muni.name.upper(), muni.code)]
        for _ in range(count):
            band = AGE_BANDS[bisect(band_cum, rng.random() * band_cum[-1])][0]
            age_days = int((band + rng.random() * 5) * 365.2425)
            born = world.as_of - timedelta(days=age_days + 1)
            gender = "FEMALE" if rng.random() < 0.495 else "MALE"
            age = age_days // 365
            d_number = 18 <= age <= 65 and rng.random() < D_NUMBER_RATE
            nin, born = nins.take(born, gender, d_number=d_number)
            status = _status(rng, age, d_number=d_number)
            place = rng.choice(places)
            people.nin.append(nin)
            people.given.append((names.female if gender == "FEMALE" else names.male).draw(rng))
            people.middle.append(names.family.draw(rng) if rng.random() < 0.12 else None)
            people.family.append(names.family.draw(rng))
            people.birth.append(born)
            people.gender.append(gender)
            people.status.append(status)
            people.death.append(
                random_date(rng, max(born, world.days_before(6 * 365)), world.as_of) if status == "DECEASED" else None
            )
            abroad = status in {"EMIGRATED", "DISAPPEARED", "INACTIVE"}
            people.street.append(None if abroad else f"{rng.choice(names.streets)} {rng.randint(1, 140)}")
            people.postal_code.append(None if abroad else place.postal_code)
            people.postal_place.append(None if abroad else place.postal_place)
            people.municipality.append(None if abroad else muni.code)
            districts = DISTRICTS.get(muni.code)
            people.district.append(rng.choice(districts) if districts and not abroad else None)
            people.protection.append(_protection(rng))
            people.home.append(muni.code)
    _ensure_protection_levels(rng, people)
    _families(world, people)
    return people


def _ensure_protection_levels(rng: random.Random, people: People) -> None:
    """Give every protection level at least one living resident (a nation of 1,000 or more)."""
    if len(people) < 1000:
        return
    for level, _ in PROTECTION_RATES:
        if level not in people.protection:
            candidates = [i for i in range(len(people)) if people.status[i] == "RESIDENT"]
            people.protection[rng.choice(candidates)] = level


def _families(world: World, people: People) -> None:
    """Link children to mothers and fathers of plausible age, living where the child lives."""
    rng = world.rng("preg-family")
    local: dict[tuple[str, str, int], list[int]] = defaultdict(list)
    national: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i in range(len(people)):
        if people.status[i] not in {"ACTIVE", "INACTIVE"}:
            local[people.home[i], people.gender[i], people.birth[i].year].append(i)
            national[people.gender[i], people.birth[i].year].append(i)
    partner: dict[int, int] = {}

    def pick(child: int, gender: str, lo: int, hi: int) -> int | None:
        year = people.birth[child].year - rng.randint(lo, hi)
        for pool in (local.get((people.home[child], gender, year)), national.get((gender, year))):
            if pool:
                parent = rng.choice(pool)
                died = people.death[parent]
                if died is None or died > people.birth[child]:
                    return parent
        return None

    for child in range(len(people)):
        if people.status[child] in {"ACTIVE", "INACTIVE"} or people.age(child, world.as_of) >= FAMILY_MAX_AGE:
            continue
        mother = pick(child, "FEMALE", 20, 42) if rng.random() < MOTHER_RATE else None
        if mother is not None:
            people.parents.append((child, mother, "MOTHER"))
            if people.age(child, world.as_of) < 18 and people.status[child] == "RESIDENT":
                _share_home(people, child, mother)
        father = partner.get(mother) if mother is not None else None
        if father is None and rng.random() < FATHER_RATE:
            father = pick(child, "MALE", 22, 48)
            if mother is not None and father is not None:
                partner[mother] = father
        if father is not None and father != mother:
            people.parents.append((child, father, "FATHER"))


def _share_home(people: People, child: int, parent: int) -> None:
    """Let a minor live at the parent's address, under the parent's protection level if stricter."""
    if people.status[parent] != "RESIDENT":
        return
    for column in (people.street, people.postal_code, people.postal_place, people.municipality, people.district):
        column[child] = column[parent]
    people.home[child] = people.home[parent]
    if people.protection[parent] != "UGRADERT":
        people.protection[child] = people.protection[parent]


# Persontjenesten's AddressConfidentiality for the graph's (NAV PDL's) protection words.
PROTECTION_LEVELS = {
    "UGRADERT": "Unclassified",
    "FORTROLIG": "Confidential",
    "STRENGT_FORTROLIG": "StrictlyConfidential",
    "STRENGT_FORTROLIG_UTLAND": "StrictlyConfidential",
}
# Status words the contract has and the first generator did not: a share of active D-numbers are
# "midlertidig" (Temporary), a share of emigrants were never resident (NotResident).
TEMPORARY_RATE = 0.4
NOT_RESIDENT_RATE = 0.2
FOREIGN_CITIZENSHIPS = ("SWE", "POL", "LTU", "DEU", "DNK", "SYR", "UKR", "ERI", "PHL", "GBR")
GUARDIANSHIP_RATE = 0.02  # of persons 80 or older
ONLY_MOTHER_RESPONSIBLE_RATE = 0.08
MOVED_WITHIN_YEARS = 15
POSTAL_ADDRESS_RATE = 0.03
PRESENT_ADDRESS_RATE = 0.01
CLIENT_ADDRESS_RATE = 0.2  # of unprotected persons' postal addresses (klientadresse, graded on its own)

PERSON_COLUMNS = (
    "nin", "given_name", "middle_name", "family_name", "birth_date", "gender", "status",
    "death_date", "street", "postal_code", "postal_place", "municipality_code", "district",
    "address_protection", "person_id", "protection_level", "marital_status", "citizenship",
    "replaced_by", "last_changed",
)  # fmt: skip


def person_id(rng: random.Random) -> str:
    """Return a Persontjenesten-style person id (a UUID drawn from the generator's randomness)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _marital(rng: random.Random, age: int) -> str:
    if age < 18:
        return "Unmarried"
    married = 0.15 if age < 25 else 0.45 if age < 35 else 0.55
    widowed = 0.0 if age < 50 else 0.05 if age < 70 else 0.3
    roll = rng.random()
    for status, share in (("Married", married), ("Divorced", 0.1 if age >= 30 else 0.01),
                          ("WidowOrWidower", widowed), ("RegisteredPartner", 0.003)):  # fmt: skip
        if roll < share:
            return status
        roll -= share
    return "Unmarried"


def write_people(world: World, people: People) -> None:
    """Emit the PREG tables.

    The contract's fields that the first generator did not have (person id, status words, marital
    status, citizenship, responsibility, guardianship, address periods, last change) are drawn from
    their own random stream, so the rest of the nation is the same as before they existed.
    """
    rng = world.rng("preg-contract")
    changed_at = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    rows = world.table("preg_person", PERSON_COLUMNS)
    numbers = world.table(
        "preg_identification_number", ("number", "person_id", "number_type", "status", "valid_from", "valid_to")
    )
    addresses = world.table("preg_address", ADDRESS_COLUMNS)
    shapes = _address_shapes(world, people)
    abroad = world.rng("preg-address-abroad")  # the content of addresses abroad and unknown ones
    # Each address's own grading (addressConfidentiality) is the person's level; a share of unprotected
    # persons' postal addresses are client addresses (graded on their own), from a stream of their own.
    grading = world.rng("preg-address-grading")
    for i in range(len(people)):
        status = people.status[i]
        if status == "ACTIVE" and rng.random() < TEMPORARY_RATE:
            status = "TEMPORARY"
        elif status == "EMIGRATED" and rng.random() < NOT_RESIDENT_RATE:
            status = "NOT_RESIDENT"
        d_number = int(people.nin[i][0]) >= 4
        age = people.age(i, world.as_of)
        pid = person_id(rng)
        citizenship = rng.choice(FOREIGN_CITIZENSHIPS) if d_number or rng.random() < 0.06 else "NOR"
        last_changed = changed_at - timedelta(days=rng.randrange(0, 3 * 365), seconds=rng.randrange(86_400))
        # Strictly confidential abroad (PDL's word; FREG has only StrictlyConfidential): the person's
        # Norwegian address is not registered, only a protected foreign postal address.
        secret_abroad = people.protection[i] == "STRENGT_FORTROLIG_UTLAND"
        address = (None,) * 5 if secret_abroad else (
            people.street[i], people.postal_code[i], people.postal_place[i], people.municipality[i], people.district[i]
        )  # fmt: skip
        registered = address[0] is not None  # before a shape takes the address away (the draws stay the same)
        if shapes.get(i) == "residence-unknown":  # no fixed abode: the register knows the municipality only
            address = (None, None, None, people.municipality[i], None)
        rows.append((
            people.nin[i], people.given[i], people.middle[i], people.family[i], people.birth[i], people.gender[i],
            status, people.death[i], *address, people.protection[i], pid,
            PROTECTION_LEVELS[people.protection[i]], _marital(rng, age), citizenship, None, last_changed,
        ))  # fmt: skip
        numbers.append(
            (people.nin[i], pid, "DNumber" if d_number else "NationalIdentityNumber", "InUse", people.birth[i], None)
        )
        level = PROTECTION_LEVELS[people.protection[i]]
        unknown = shapes.get(i) == "residence-unknown"
        if registered:
            earliest = max(people.birth[i], world.days_before(MOVED_WITHIN_YEARS * 365))
            moved = random_date(rng, earliest, world.as_of) if earliest < world.as_of else people.birth[i]
            if unknown:
                addresses.append((people.nin[i], "RESIDENTIAL", moved, None, None, None, None, people.municipality[i],
                                  None, level, None, None, True, None))  # fmt: skip
            else:
                addresses.append((people.nin[i], "RESIDENTIAL", moved, None, people.street[i], people.postal_code[i],
                                  people.postal_place[i], people.municipality[i], people.district[i],
                                  level, *NORWEGIAN))  # fmt: skip
            if rng.random() < POSTAL_ADDRESS_RATE:
                box = f"Postboks {rng.randint(1, 9999)}"
                client = level == "Unclassified" and grading.random() < CLIENT_ADDRESS_RATE
                graded = "ClientAddress" if client else level
                addresses.append((people.nin[i], "POSTAL", moved, None, box, people.postal_code[i],
                                  people.postal_place[i], None, None, graded, *NORWEGIAN))  # fmt: skip
        if rng.random() < PRESENT_ADDRESS_RATE and registered and 18 <= age <= 30:
            began, number = world.days_before(rng.randrange(30, 900)), rng.randint(1, 400)
            if shapes.get(i) not in PRESENT_SHAPES:  # one present address at a time
                addresses.append((people.nin[i], "PRESENT", began, None, f"Studentbyen {number}",
                                  people.postal_code[i], people.postal_place[i], people.municipality[i], None,
                                  level, *NORWEGIAN))  # fmt: skip
        addresses.extend(_shaped_addresses(world, abroad, people, i, shapes.get(i), level))
    relations = world.table("preg_parent_relation", ("child_nin", "parent_nin", "role"))
    relations.extend((people.nin[c], people.nin[p], role) for c, p, role in people.parents)
    addresses.extend(_shared_residences(world, people))
    _responsibility(world, people, rng)
    _guardianship(world, people, rng)


ADDRESS_COLUMNS = (
    "nin", "kind", "valid_from", "valid_to", "street", "postal_code", "postal_place", "municipality_code",
    "district", "confidentiality", "country_code", "region", "address_unknown", "stay_elsewhere",
)  # fmt: skip
NORWEGIAN = (None, None, None, None)  # an address in Norway: no country, region, unknown or stay elsewhere
# Persons whose addresses take the contract's rarer shapes, each from the stream "preg-address-shapes":
# (shape, who may have it, share of them). A nation of 1,000 or more has at least one of each.
PRESENT_SHAPES = ("present-abroad", "present-unknown")
SHAPE_RATES = (("present-abroad", 0.004), ("present-unknown", 0.002), ("residence-unknown", 0.001),
               ("postal-abroad", 0.5))  # fmt: skip
# Places abroad: country (ISO 3166-1 alpha-2, as the contract sends it), street, post code, city, region.
ABROAD = (
    ("SE", "Storgatan", "411 01", "Göteborg", "Västra Götaland"), ("DK", "Nørregade", "1165", "København K", None),
    ("GB", "High Street", "EH1 1SR", "Edinburgh", "Scotland"), ("DE", "Hauptstraße", "10115", "Berlin", None),
    ("ES", "Calle Mayor", "29620", "Torremolinos", "Andalucía"), ("US", "Main Street", "02139", "Cambridge", "MA"),
)  # fmt: skip
STAYS_ELSEWHERE = ("Military", "OnSvalbard", "Commuter")


SHARED_RESIDENCE_RATE = 0.1  # of minors whose father lives elsewhere


def _shared_residences(world: World, people: People) -> list[tuple[Any, ...]]:
    """Delt bosted: a share of the minors living with their mother also live at their father's address.

    From a stream of its own; the period begins with the agreement and the address is a copy of the
    father's (graded as his is); a nation of 1,000 or more has at least one.
    """
    rng = world.rng("preg-shared-residence")
    candidates = [
        (child, father) for child, father, role in people.parents
        if role == "FATHER" and people.age(child, world.as_of) < 18 and people.status[child] == "RESIDENT"
        and people.status[father] == "RESIDENT" and people.death[father] is None
        and people.street[father] is not None and people.street[father] != people.street[child]
        and people.protection[child] == "UGRADERT"
    ]  # fmt: skip
    chosen = [pair for pair in candidates if rng.random() < SHARED_RESIDENCE_RATE]
    if not chosen and candidates and len(people) >= 1000:
        chosen = [rng.choice(candidates)]
    rows = []
    for child, father in chosen:
        since = random_date(rng, people.birth[child], world.as_of)
        rows.append((people.nin[child], "SHARED", since, None, people.street[father], people.postal_code[father],
                     people.postal_place[father], people.municipality[father], people.district[father],
                     PROTECTION_LEVELS[people.protection[father]], *NORWEGIAN))  # fmt: skip
    return rows


def _address_shapes(world: World, people: People) -> dict[int, str]:
    """Choose the persons whose addresses are abroad or unknown (their own stream: the rest is unchanged).

    A young resident staying abroad (a present address abroad); a resident whose present address is
    unknown, with a stay elsewhere (in military service, on Svalbard, commuting); a resident with no
    fixed abode (an unknown residence in the municipality); an emigrant with a postal address abroad.
    """
    rng = world.rng("preg-address-shapes")
    rolls = [rng.random() for _ in range(len(people))]
    chosen: dict[int, str] = {}
    for shape, rate in SHAPE_RATES:
        eligible = [i for i in range(len(people)) if i not in chosen and _may_have(world, people, i, shape)]
        found = [i for i in eligible if rolls[i] < rate]
        if not found and eligible and len(people) >= 1000:
            found = [rng.choice(eligible)]
        chosen.update(dict.fromkeys(found, shape))
    return chosen


def _may_have(world: World, people: People, i: int, shape: str) -> bool:
    if shape == "postal-abroad":
        return people.status[i] == "EMIGRATED"
    age = people.age(i, world.as_of)
    ages = {"present-abroad": (19, 30), "present-unknown": (18, 40), "residence-unknown": (25, 60)}[shape]
    return (people.status[i] == "RESIDENT" and people.street[i] is not None and people.protection[i] == "UGRADERT"
            and people.death[i] is None and ages[0] <= age <= ages[1])  # fmt: skip


def _shaped_addresses(
    world: World, rng: random.Random, people: People, i: int, shape: str | None, level: str
) -> list[tuple[Any, ...]]:
    """Return the address rows of a person's rarer shape (and every strictly-confidential-abroad person's)."""
    secret_abroad = people.protection[i] == "STRENGT_FORTROLIG_UTLAND"
    if shape is None and not secret_abroad:
        return []
    nin = people.nin[i]
    country, name, post_code, city, region = rng.choice(ABROAD)
    street = f"{name} {rng.randint(1, 90)}"
    since = world.days_before(rng.randrange(30, 1500))
    if secret_abroad or shape == "postal-abroad":
        # Only their foreign postal address is registered (no Norwegian one): free-form lines, no region.
        return [(nin, "FOREIGN_POSTAL", since, None, street, post_code, city, None, None, level, country, None, None,
                 None)]  # fmt: skip
    if shape == "present-abroad":
        return [(nin, "PRESENT", since, None, street, post_code, city, None, None, level, country, region, None, None)]
    if shape == "present-unknown":
        stay = rng.choice(STAYS_ELSEWHERE)
        return [(nin, "PRESENT", since, None, None, None, None, None, None, level, None, None, True, stay)]
    return []


WITHOUT_ID_COLUMNS = ("given_name", "middle_name", "family_name", "birth_date", "gender", "citizenship")
# Persons without a Norwegian identification number the register names by name, birth date, gender and
# citizenship (synthetic): a father abroad sharing responsibility, a child abroad, a guardian from abroad.
ABROAD_GIVEN = {"Male": ("Erik", "Piotr", "Jonas", "Ahmed", "Lukas"), "Female": ("Anna", "Maria", "Sofia", "Ewa")}
ABROAD_FAMILY = (("Svensson", "SWE"), ("Nowak", "POL"), ("Schmidt", "DEU"), ("Jensen", "DNK"), ("Kazlauskas", "LTU"))
FATHER_ABROAD_RATE = 0.25  # of minors whose only registered parent is the mother
CHILD_ABROAD_RATE = 0.002  # of residents 25 to 50: responsible for a child without a Norwegian number
GUARDIAN_ABROAD_RATE = 0.25  # of guardianships


def _without_id(rng: random.Random, gender: str, born: date) -> tuple[Any, ...]:
    family, citizenship = rng.choice(ABROAD_FAMILY)
    return (rng.choice(ABROAD_GIVEN[gender]), None, family, born, gender, citizenship)


def _responsibility(world: World, people: People, rng: random.Random) -> None:
    """Foreldreansvar for minors: joint for both registered parents, now and then the mother alone.

    From a stream of their own (the rest is unchanged): now and then a mother alone on the register
    shares it with a father without a Norwegian number, and a resident holds it for a child abroad
    who has none (the contract's entries "without identifier"; a nation of 1,000 has one of each).
    """
    table = world.table("preg_parental_responsibility", ("child_nin", "responsible_nin", "responsibility_type"))
    others = world.table("preg_responsibility_without_id",
                         ("nin", "position", "role", "responsibility_type", *WITHOUT_ID_COLUMNS))  # fmt: skip
    abroad = world.rng("preg-without-id")
    by_child: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for child, parent, role in people.parents:
        if people.age(child, world.as_of) < 18 and people.death[parent] is None:
            by_child[child].append((parent, role))
    alone: list[int] = []
    for child, parents in by_child.items():
        roles = {role: parent for parent, role in parents}
        if len(roles) == 2 and rng.random() >= ONLY_MOTHER_RESPONSIBLE_RATE:
            table.extend((people.nin[child], people.nin[p], "Joint") for p in roles.values())
        elif "MOTHER" in roles:
            table.append((people.nin[child], people.nin[roles["MOTHER"]], "Mother"))
            if len(roles) == 1:
                alone.append(len(table) - 1)
        else:
            table.append((people.nin[child], people.nin[roles["FATHER"]], "Father"))
    shared = [row for row in alone if abroad.random() < FATHER_ABROAD_RATE]
    if not shared and alone and len(people) >= 1000:
        shared = [abroad.choice(alone)]
    by_nin = {nin: i for i, nin in enumerate(people.nin)} if shared else {}
    for row in shared:
        child_nin, mother_nin, _ = table[row]
        table[row] = (child_nin, mother_nin, "Joint")
        born = people.birth[by_nin[mother_nin]] - timedelta(days=abroad.randrange(-5 * 365, 10 * 365))
        others.append((child_nin, 0, "RESPONSIBLE", "Joint", *_without_id(abroad, "Male", born)))
    holders = [i for i in range(len(people)) if people.status[i] == "RESIDENT" and people.death[i] is None
               and 25 <= people.age(i, world.as_of) <= 50]  # fmt: skip
    abroad_children = [i for i in holders if abroad.random() < CHILD_ABROAD_RATE]
    if not abroad_children and holders and len(people) >= 1000:
        abroad_children = [abroad.choice(holders)]
    for i in abroad_children:
        kind = "Mother" if people.gender[i] == "FEMALE" else "Father"
        born = world.days_before(abroad.randrange(365, 15 * 365))
        others.append((people.nin[i], 0, "CHILD", kind, *_without_id(abroad, abroad.choice(("Male", "Female")), born)))


def _guardianship(world: World, people: People, rng: random.Random) -> None:
    """Vergemål for a share of the very old, with a younger adult as guardian.

    From a stream of their own, a share of the guardians have no Norwegian number (named by name and
    birth date instead; a nation of 1,000 has one); a guardianship covers personal matters when its
    scope is personal.
    """
    table = world.table("preg_guardianship", ("nin", "guardian_nin", "guardianship_type", "scope", "in_personal_scope"))
    others = world.table("preg_guardian_without_id", ("nin", "position", "guardianship_type", "scope",
                                                      "in_personal_scope", *WITHOUT_ID_COLUMNS))  # fmt: skip
    abroad = world.rng("preg-guardian-without-id")
    adults = [i for i in range(len(people)) if 30 <= people.age(i, world.as_of) <= 65 and people.death[i] is None]
    if not adults:
        return
    old = [i for i in range(len(people)) if people.death[i] is None and people.age(i, world.as_of) >= 80]
    chosen = [i for i in old if rng.random() < GUARDIANSHIP_RATE]
    if not chosen and old and len(people) >= 1000:
        chosen = [rng.choice(old)]  # at least one in a nation of a thousand or more
    unidentified = {i for i in chosen[1:] if abroad.random() < GUARDIAN_ABROAD_RATE}  # the first keeps a number

    def without_id(i: int, scope: str) -> None:
        born = world.days_before(abroad.randrange(30 * 365, 65 * 365))
        gender = abroad.choice(("Male", "Female"))
        others.append((people.nin[i], 0, "Adult", scope, "Personal" in scope, *_without_id(abroad, gender, born)))

    for i in chosen:
        guardian = rng.choice(adults)
        scope = rng.choice(("PersonalAndFinancialInterests", "FinancialInterests"))
        if i in unidentified:
            without_id(i, scope)
        else:
            table.append((people.nin[i], people.nin[guardian], "Adult", scope, "Personal" in scope))
    spare = [i for i in old if i not in set(chosen)]
    wards = list(chosen)
    if not unidentified and spare and len(people) >= 1000:
        wards.append(abroad.choice(spare))
        without_id(wards[-1], "PersonalAndFinancialInterests")
    _legal_capacity(world, people, wards)


LEGAL_CAPACITY_RATE = 0.3  # of persons under guardianship


def _legal_capacity(world: World, people: People, wards: list[int]) -> None:
    """Rettslig handleevne: a share of the persons under guardianship are deprived of it or have it limited.

    From a stream of its own; a nation of 1,000 or more has one of each kind (when it has two wards).
    """
    table = world.table("preg_legal_capacity", ("nin", "kind", "valid_from", "valid_to"))
    rng = world.rng("preg-legal-capacity")
    chosen = [i for i in wards if rng.random() < LEGAL_CAPACITY_RATE]
    if len(chosen) < 2 and len(wards) >= 2 and len(people) >= 1000:  # one of each kind
        chosen = wards[:2]
    for n, i in enumerate(chosen):
        since = world.days_before(rng.randrange(30, 3 * 365))
        table.append((people.nin[i], "DEPRIVED" if n % 2 == 0 else "LIMITED", since, None))
