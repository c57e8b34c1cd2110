-- Customer time per contact and per appeal, as parameterized views (bounded by a tenant and
-- the start range of the appeals, so no query scans the whole history):
--   SELECT * FROM contact_customer_time(tenant = 'mrsk', start = '2026-10-01 00:00:00',
--                                       end = '2026-11-01 00:00:00')
-- Waits follow streams/sla/appeals.py exactly (the end-to-end test compares the two):
-- queue waits from `queued` to the first answered/abandoned/closed, call-back waits from
-- callback_requested to callback_completed/closed, and on email/web/post the first event to
-- the first `responded`. A wait still running is not counted; waiting_open = 1 says so.
-- Redelivered events are counted once (LIMIT 1 BY event_id).
CREATE VIEW IF NOT EXISTS contact_customer_time AS
WITH linked AS
(
    SELECT contact_id, argMax(appeal_id, linked_at) AS appeal_id
    FROM appeal_links
    WHERE tenant = {tenant:String}
    GROUP BY contact_id
    HAVING argMax(appeal_started_at, linked_at) >= {start:DateTime64(3, 'UTC')}
       AND argMax(appeal_started_at, linked_at) < {end:DateTime64(3, 'UTC')}
)
SELECT
    tenant,
    contact_id,
    any(l.appeal_id) AS appeal_id,
    argMin(channel, (occurred_at, event_id)) AS channel,
    argMin(region, (occurred_at, event_id)) AS region,
    argMaxIf(office, (occurred_at, event_id), office IS NOT NULL) AS office,
    if(countIf(customer_category != 'standard') = 0, 'standard',
       argMaxIf(customer_category, (occurred_at, event_id), customer_category != 'standard'))
        AS customer_category,
    if(countIf(kind != 'inquiry') = 0, 'inquiry',
       argMaxIf(kind, (occurred_at, event_id), kind != 'inquiry')) AS kind,
    argMaxIf(topic, (occurred_at, event_id), topic IS NOT NULL) AS topic,
    argMaxIf(customer_ref, (occurred_at, event_id), customer_ref IS NOT NULL) AS customer_ref,
    min(occurred_at) AS received_at,
    minIf(occurred_at, type = 'resolved') AS first_resolved,
    countIf(type = 'resolved') > 0 AS resolved,
    arraySort(groupArray((toUnixTimestamp64Milli(occurred_at), event_id, toString(type)))) AS ev,
    arrayFold((acc, x) -> (
        acc.1 + if(x.3 IN ('answered', 'abandoned', 'closed') AND acc.2 >= 0, x.1 - acc.2, 0)
              + if(x.3 IN ('callback_completed', 'closed') AND acc.3 >= 0, x.1 - acc.3, 0),
        multiIf(x.3 = 'queued' AND acc.2 < 0, x.1,
                x.3 IN ('answered', 'abandoned', 'closed'), toInt64(-1), acc.2),
        multiIf(x.3 = 'callback_requested' AND acc.3 < 0, x.1,
                x.3 IN ('callback_completed', 'closed'), toInt64(-1), acc.3)),
        ev, (toInt64(0), toInt64(-1), toInt64(-1))) AS folded,
    channel IN ('email', 'web', 'post') AS deferred,
    arrayExists(x -> x.3 = 'responded', ev) AS responded,
    folded.1 + if(deferred AND responded,
                  arrayFirst(x -> x.3 = 'responded', ev).1 - ev[1].1, 0) AS wait_ms,
    folded.2 >= 0 OR folded.3 >= 0
        OR (deferred AND NOT responded AND ev[-1].3 != 'closed') AS waiting_open
FROM
(
    SELECT tenant, contact_id, event_id, channel, region, office, customer_category, kind,
           topic, customer_ref, type, occurred_at
    FROM events
    WHERE tenant = {tenant:String}
      AND occurred_at >= {start:DateTime64(3, 'UTC')}
      AND contact_id IN (SELECT contact_id FROM linked)
    LIMIT 1 BY contact_id, event_id
) AS e
INNER JOIN linked AS l ON l.contact_id = e.contact_id
GROUP BY tenant, contact_id;

-- One row per appeal started in [start, end): its contacts, the customer's summed waits, and
-- first-contact resolution (exactly one contact, and it was resolved). The appeal's channel,
-- region, office and category are those of its first contact.
CREATE VIEW IF NOT EXISTS appeal_figures AS
SELECT
    tenant,
    appeal_id,
    min(received_at) AS started_at,
    argMin(channel, (received_at, contact_id)) AS channel,
    argMin(region, (received_at, contact_id)) AS region,
    argMin(office, (received_at, contact_id)) AS office,
    argMin(customer_category, (received_at, contact_id)) AS customer_category,
    argMin(customer_ref, (received_at, contact_id)) AS customer_ref,
    argMin(topic, (received_at, contact_id)) AS topic,
    count() AS contacts,
    arrayMap(x -> x.2, arraySort(groupArray((received_at, contact_id)))) AS contact_ids,
    sum(wait_ms) AS wait_ms,
    max(waiting_open) AS waiting_open,
    max(resolved) AS resolved,
    contacts = 1 AND resolved AS first_contact_resolution
FROM contact_customer_time(tenant = {tenant:String}, start = {start:DateTime64(3, 'UTC')},
                           end = {end:DateTime64(3, 'UTC')})
GROUP BY tenant, appeal_id;
