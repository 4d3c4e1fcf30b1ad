/**
 * gRPC metadata the gateway sends with every call it forwards to a cell: the routing epoch it
 * routed by and the slot of the user or object the call is about. A cell that does not own the
 * slot at its own epoch refuses the call (retryable) and names its epoch in the error details.
 */
export const routingHeaders = {
  epoch: 'x-cellpay-routing-epoch',
  slot: 'x-cellpay-slot',
} as const;

/** The reasons (google.rpc.ErrorInfo) a cell gives when it refuses to serve a slot. */
export const slotRefusalReasons = {
  notOwned: 'slot_not_owned_at_epoch',
  routerAhead: 'routing_epoch_ahead_of_cell',
  /** The slot is frozen (failover or migration in progress): retry after it is unfrozen. */
  frozen: 'slot_frozen',
} as const;

/** ErrorInfo metadata key carrying the epoch the refusing cell routes by. */
export const cellEpochDetailKey = 'cell_epoch';
