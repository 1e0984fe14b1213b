<?php

declare(strict_types=1);

namespace Heavy;

/** Routes a request to its controller and turns the result into a response. */
final class Kernel
{
    public function __construct(private Container $container, private Router $router)
    {
    }

    /** For scripts that use the services without routing a page (app.js.php). */
    public function container(): Container
    {
        return $this->container;
    }

    public function handle(Request $request): Response
    {
        $handler = $this->router->match($request->method, $request->path);
        if ($handler === null) {
            return new Response('<!doctype html><title>Not found</title><h1>Not found</h1>', 404);
        }
        [$class, $method] = $handler;
        $controller = new $class($this->container);
        $started = hrtime(true);
        $response = $controller->$method($request);
        $ms = (hrtime(true) - $started) / 1e6;
        $this->container->get(Services\Logger::class)->debug(sprintf('%s %s rendered in %.2f ms', $request->method, $request->path, $ms));
        return $response->withHeader('X-Render-Time', sprintf('%.2f ms', $ms));
    }
}
