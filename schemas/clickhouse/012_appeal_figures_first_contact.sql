-- appeal_figures (009) took office/customer_ref/topic with argMin, which skips NULLs: an appeal
-- whose first contact named no office showed a later contact's office, unlike the pure core
-- (the appeal's dimensions are its first contact's). tuple(...) keeps the NULL.
CREATE OR REPLACE VIEW appeal_figures AS
SELECT
    tenant,
    appeal_id,
    min(received_at) AS started_at,
    argMin(channel, (received_at, contact_id)) AS channel,
    argMin(region, (received_at, contact_id)) AS region,
    argMin(tuple(office), (received_at, contact_id)).1 AS office,
    argMin(customer_category, (received_at, contact_id)) AS customer_category,
    argMin(tuple(customer_ref), (received_at, contact_id)).1 AS customer_ref,
    argMin(tuple(topic), (received_at, contact_id)).1 AS topic,
    count() AS contacts,
    arrayMap(x -> x.2, arraySort(groupArray((received_at, contact_id)))) AS contact_ids,
    sum(wait_ms) AS wait_ms,
    max(waiting_open) AS waiting_open,
    max(resolved) AS resolved,
    contacts = 1 AND resolved AS first_contact_resolution
FROM contact_customer_time(tenant = {tenant:String}, start = {start:DateTime64(3, 'UTC')},
                           end = {end:DateTime64(3, 'UTC')})
GROUP BY tenant, appeal_id;
