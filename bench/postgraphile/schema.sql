-- What PostGraphile v5 needs to answer helsegraf's integrator query over the benchmark's nation.
--
-- Applied by `python -m bench all` to the benchmark's own database only (never the test databases),
-- idempotently, before PostGraphile starts. Functions whose first argument is a table's row are
-- PostGraphile "computed columns": `preg_person_gp(p preg_person)` becomes `PregPerson.gp`. Each
-- follows the same rules as bench/baseline.py (and helsegraf): "today" is today in Norway, the
-- list a person is on today is the newest membership valid today, the contract's GP is its
-- current period ordered LPFL, LPVI, others, then by start and id.

CREATE OR REPLACE FUNCTION bench_today() RETURNS date
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (now() AT TIME ZONE 'Europe/Oslo')::date $$;
COMMENT ON FUNCTION bench_today() IS E'@behavior -queryField';

-- The root field: persons in the order asked, a null row where a number is unknown.
CREATE OR REPLACE FUNCTION bench_persons(nins varchar[]) RETURNS SETOF preg_person
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT p.* FROM unnest(nins) WITH ORDINALITY AS q(nin, ord) LEFT JOIN preg_person p ON p.nin = q.nin ORDER BY q.ord
$$;
COMMENT ON FUNCTION bench_persons(varchar[]) IS E'@behavior -connection +list';

-- Person.gp: the list membership valid today.
CREATE OR REPLACE FUNCTION preg_person_gp(p preg_person) RETURNS flr_list_membership
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT m.* FROM flr_list_membership m
  WHERE m.nin = p.nin AND m.valid_from <= bench_today() AND (m.valid_to IS NULL OR m.valid_to > bench_today())
  ORDER BY m.valid_from DESC LIMIT 1
$$;

-- GpAssignment.gp: the contract's GP today.
CREATE OR REPLACE FUNCTION flr_list_membership_gp(m flr_list_membership) RETURNS hpr_person
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT h.* FROM flr_gp_period g JOIN hpr_person h ON h.hpr_number = g.hpr_number
  WHERE g.contract_id = m.contract_id AND g.valid_from <= bench_today()
    AND (g.valid_to IS NULL OR g.valid_to > bench_today())
  ORDER BY CASE g.relationship WHEN 'LPFL' THEN 0 WHEN 'LPVI' THEN 1 ELSE 2 END, g.valid_from, g.id
  LIMIT 1
$$;

-- GpAssignment.officeCommunicationParty: the parent of the GP's own communication party.
CREATE OR REPLACE FUNCTION flr_list_membership_office_communication_party(m flr_list_membership)
RETURNS ar_communication_party
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT op.* FROM ar_communication_party gp JOIN ar_communication_party op ON op.her_id = gp.parent_her_id
  WHERE gp.her_id = m.gp_her_id
$$;

-- HealthPersonnel.name { full }: a composite type, so that the answer nests as helsegraf's does.
DO $$ BEGIN
  CREATE TYPE bench_name AS ("full" text);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

CREATE OR REPLACE FUNCTION hpr_person_name(h hpr_person) RETURNS bench_name
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ROW(concat_ws(' ', h.given_name, h.middle_name, h.family_name))::bench_name
$$;

-- CommunicationParty.electronicAddresses: its EDI addresses, oldest first.
CREATE OR REPLACE FUNCTION ar_communication_party_electronic_addresses(c ar_communication_party) RETURNS varchar[]
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(a.address ORDER BY a.id), '{}') FROM ar_electronic_address a
  WHERE a.her_id = c.her_id AND a.type = 'E_EDI'
$$;
