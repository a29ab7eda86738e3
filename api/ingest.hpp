#pragma once
// What both ingest handlers share (POST /v1/events and POST /v1/event): a
// decoded batch is matched on the I/O thread and handed to the pipeline.

#include <cstdint>

#include "api/api.hpp"
#include "core/event.hpp"
#include "transport/http_types.hpp"

namespace sy::api {

/// Matches every event of `batch` against the current routing table, submits
/// the batch to the ingest pipeline and answers through `respond` once it is
/// journaled: 202 {"ids": [...]}, or the pipeline's error with Retry-After.
/// Runs on the I/O thread that decoded the batch; `batch` is copied, so it
/// may die when this returns.
void submit_batch(const api_context& ctx, const core::event_batch& batch, int64_t received_ms,
                  transport::responder respond);

} // namespace sy::api
