-- wrk: POST one native event per request.
wrk.method = "POST"
wrk.path = "/v1/events"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"re.notifica.event.custom.Purchase","country":"NO","data":{"id":"54ac46e8b2e39ca0","deviceID":"09260d8b1de06948c516a","userID":"support@notifica.re","total":125.53}}'
