/** The parts of an OpenAPI 3.1 document that srs-live's document uses, typed. */

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1). */
export type SchemaObject = { readonly [keyword: string]: unknown };
export interface RefObject {
  readonly $ref: string;
}
export interface MediaTypeObject {
  readonly schema: SchemaObject | RefObject;
  readonly example?: unknown;
  readonly examples?: Readonly<Record<string, { readonly summary: string; readonly value: unknown }>>;
}
export interface HeaderObject {
  readonly description: string;
  readonly schema: SchemaObject;
}
export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject>>;
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
}
export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
  readonly description: string;
  readonly schema: SchemaObject;
  readonly example?: unknown;
}
export type SecurityRequirement = Readonly<Record<string, readonly string[]>>;
export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  /** `[]`: public. Several entries: one of them suffices. */
  readonly security: readonly SecurityRequirement[];
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: { readonly required: boolean; readonly content: Readonly<Record<string, MediaTypeObject>> };
  readonly responses: Readonly<Record<string, ResponseObject>>;
}
export type HttpMethod = 'get' | 'post';
export type PathItemObject = Partial<Readonly<Record<HttpMethod, OperationObject>>>;
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly servers: readonly { readonly url: string }[];
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, PathItemObject>>;
  readonly webhooks: Readonly<Record<string, PathItemObject>>;
  readonly components: {
    readonly securitySchemes: Readonly<
      Record<string, { readonly type: 'http'; readonly scheme: 'bearer'; readonly bearerFormat: string; readonly description: string }>
    >;
    readonly schemas: Readonly<Record<string, SchemaObject>>;
  };
}
