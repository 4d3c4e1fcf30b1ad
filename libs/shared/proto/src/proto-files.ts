import { join } from 'node:path';

/**
 * Where the .proto sources are at run time: next to the compiled library, in the same relative
 * place as in the repository (the app build copies libs/shared/proto/proto alongside the output).
 */
export const protoRoot = join(__dirname, '..', 'proto');
export const cellProtoFile = 'cellpay/cell/v1/cell.proto';
export const cellProtoPath = join(protoRoot, cellProtoFile);
export const publicProtoFile = 'cellpay/v1/cellpay.proto';
export const publicProtoPath = join(protoRoot, publicProtoFile);
