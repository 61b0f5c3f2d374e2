import { Controller, Get, OkHttpResponse } from '@inversifyjs/http-core';
import { inject } from 'inversify';
import { Registry } from 'prom-client';

/** Prometheus scrapes this: the pool figures of the service's database (registered in `tasksModule`). */
@Controller({ path: '/metrics', scope: 'Singleton' })
export class MetricsController {
  constructor(@inject(Registry) private readonly registry: Registry) {}

  @Get('/')
  async metrics(): Promise<OkHttpResponse> {
    return new OkHttpResponse(await this.registry.metrics(), { 'content-type': this.registry.contentType });
  }
}
