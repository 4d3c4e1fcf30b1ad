export * from './canonical-json';
export * from './request-signature';
export * from './proto-json-view';
