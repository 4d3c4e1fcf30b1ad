/** Why the control plane refused or stopped a cell operation; the message says what to do next. */
export enum CellFailoverErrorCode {
  alreadyPrimaryInRegion = 'already_primary_in_region',
  primaryDidNotDie = 'primary_did_not_die',
  topologyNotLoaded = 'topology_not_loaded',
  routingNotInitialised = 'routing_not_initialised',
}

export class CellFailoverException extends Error {
  constructor(
    readonly code: CellFailoverErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'CellFailoverException';
  }
}
